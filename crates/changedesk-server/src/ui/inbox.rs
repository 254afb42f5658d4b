//! The inbox (`/`): the posts in the caller's scope with the API's search,
//! filters, facets, sorting and cursor paging, count chips, and a selection
//! for bulk triage. Every view is its URL's query string.
//!
//! Every count is the store's (SQL `COUNT`s within the caller's scope), and
//! every chip is a filter of the inbox itself: the count it shows is the
//! number of posts it lists (within the whole scope, whatever the view).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use changedesk_core::Timestamp;
use changedesk_core::triage::State as ItemState;
use changedesk_store::{Deadline, DeadlineFilter, FacetCount, PostQuery, TenantScope};
use serde::{Deserialize, Serialize};

use super::view::{self, Layout};
use super::{SignedIn, UiError, UiResult, html};
use crate::http::AppState;
use crate::http::auth::{Caller, Need};
use crate::http::cache::{self, CACHE_HEADER, DependsOn};
use crate::http::routes::posts::{
    PostParams, UNASSIGNED, assignee_facet, csv_answer, group_counts, page_as_csv, posts_csv,
    query as post_query, scope_of,
};
use crate::http::tenant_cover::Groups;

/// Posts per page.
const PAGE: u32 = 50;
/// Values shown per facet.
const FACET_VALUES: usize = 12;
/// "Act-by soon": within this many days.
pub(crate) const SOON_DAYS: i64 = 30;

/// The inbox's query string. Empty values (as a GET form sends them) are
/// no filter; unknown parameters are ignored.
#[derive(Debug, Default, Clone, Deserialize)]
pub(crate) struct InboxParams {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    major: String,
    #[serde(default)]
    state: String,
    /// A tenant group: its tenants within the caller's.
    #[serde(default)]
    tenant_group: String,
    /// A work item's owner, `me`, or `none` (assigned to nobody).
    #[serde(default)]
    assignee: String,
    /// A work item's state (`new`, `triaged`, `in_progress`, …).
    #[serde(default)]
    item_state: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    cursor: String,
    /// One of [`CHIPS`].
    #[serde(default)]
    chip: String,
    /// Only posts Microsoft changed on or after this day (`YYYY-MM-DD`).
    #[serde(default)]
    changed_since: String,
    /// What a bulk action just did, to say so (never part of a view): the
    /// action, how many it was done for, of how many selected.
    #[serde(default)]
    bulk: String,
    #[serde(default)]
    done: String,
    #[serde(default)]
    of: String,
    /// Why the last bulk form could not be done (a code).
    #[serde(default)]
    bulk_error: String,
    /// `csv`: the view's posts, every page, as a CSV file (not part of a
    /// view: never in [`InboxParams::pairs`]).
    #[serde(default)]
    format: String,
    /// `compact` or `comfortable`: how dense the list is, remembered by the
    /// browser ([`DENSITY_COOKIE`]; a display choice, not part of a view).
    #[serde(default)]
    density: String,
}

/// The browser's choice of list density: `compact` shows one line per post.
const DENSITY_COOKIE: &str = "changedesk_density";

/// The chips that are filters of their own (`chip=…`): act-by within
/// [`SOON_DAYS`], high or critical severity, and the work items awaiting
/// triage, changed since triage (open ones), overdue and missed.
const CHIPS: [&str; 6] = [
    "act_by_soon",
    "high",
    "awaiting",
    "changed",
    "overdue",
    "missed",
];

impl InboxParams {
    fn pairs(&self) -> [(&'static str, &str); 15] {
        [
            ("q", self.q.trim()),
            ("tenant", self.tenant.trim()),
            ("tenant_group", self.tenant_group.trim()),
            ("service", self.service.trim()),
            ("tag", self.tag.trim()),
            ("category", self.category.trim()),
            ("severity", self.severity.trim()),
            ("major", self.major.trim()),
            ("state", self.state.trim()),
            ("assignee", self.assignee.trim()),
            ("item_state", self.item_state.trim()),
            ("chip", self.chip.trim()),
            ("changed_since", self.changed_since.trim()),
            ("sort", self.sort.trim()),
            ("cursor", self.cursor.trim()),
        ]
    }

    /// What the last bulk action did, for the notice above the list: from
    /// the redirect's own parameters, with fixed words only (a crafted
    /// link can say nothing else).
    pub(crate) fn bulk_notice(&self) -> Option<String> {
        if let Some(e) = super::items::bulk_error_text(self.bulk_error.trim()) {
            return Some(e);
        }
        let action = super::items::bulk_label(self.bulk.trim())?;
        let done: usize = self.done.trim().parse().ok()?;
        let of: usize = self.of.trim().parse().ok()?;
        Some(if done == of {
            format!(
                "{action}: done for {done} post{}.",
                if done == 1 { "" } else { "s" }
            )
        } else {
            format!("{action}: done for {done} of {of} posts; the others were left as they were.")
        })
    }

    /// This view's URL with `key` set to `value` (`""` removes it), back
    /// on the first page.
    fn with(&self, key: &str, value: &str) -> String {
        let pairs = self
            .pairs()
            .into_iter()
            .filter(|(k, _)| *k != "cursor")
            .map(|(k, v)| if k == key { (k, value) } else { (k, v) });
        format!("/{}", view::query_string(pairs))
    }

    /// Sets `key` to `value`, or removes it when it already is `value`.
    fn toggle(&self, key: &str, value: &str) -> String {
        let current = self
            .pairs()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .unwrap_or("");
        if current.eq_ignore_ascii_case(value) {
            self.with(key, "")
        } else {
            self.with(key, value)
        }
    }

    fn is(&self, key: &str, value: &str) -> bool {
        self.pairs()
            .into_iter()
            .any(|(k, v)| k == key && v.eq_ignore_ascii_case(value))
    }

    fn opt(s: &str) -> Option<String> {
        Some(s.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// The API's parameters for this view.
    fn post_params(&self, now: Timestamp) -> UiResult<PostParams> {
        let major = match self.major.trim() {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            other => {
                return Err(UiError::bad_request(format!(
                    "major `{other}` is not true or false"
                )));
            }
        };
        let mut q = InboxParams::opt(&self.q);
        let (mut act_by_from, mut act_by_to) = (None, None);
        match self.chip.trim() {
            "" => {}
            "act_by_soon" => {
                act_by_from = Some(now.to_canonical());
                act_by_to = Some(
                    now.saturating_add(time::Duration::days(SOON_DAYS))
                        .to_canonical(),
                );
            }
            // the search language's field filter: severity other than normal
            "high" => {
                q = Some(format!(
                    "-severity:normal {}",
                    q.as_deref().unwrap_or_default()
                ))
            }
            // work item conditions: [`InboxParams::apply_item_chip`]
            "awaiting" | "changed" | "overdue" | "missed" => {}
            other => {
                return Err(UiError::bad_request(format!(
                    "chip `{other}` is not one of {}",
                    CHIPS.join(", ")
                )));
            }
        }
        Ok(PostParams {
            q,
            tenant: InboxParams::opt(&self.tenant),
            service: InboxParams::opt(&self.service),
            tag: InboxParams::opt(&self.tag),
            category: InboxParams::opt(&self.category),
            severity: InboxParams::opt(&self.severity),
            major,
            state: InboxParams::opt(&self.state),
            act_by_from,
            act_by_to,
            changed_since: match self.changed_since.trim() {
                "" => None,
                d => {
                    let day = changedesk_core::Timestamp::parse(&format!("{d}T00:00:00Z"))
                        .map_err(|_| {
                            UiError::bad_request(format!(
                                "changed since `{}` is not a date like 2026-05-14",
                                changedesk_core::text::clip_chars(d, 40)
                            ))
                        })?;
                    Some(day.to_canonical())
                }
            },
            item_state: InboxParams::opt(&self.item_state),
            assignee: InboxParams::opt(&self.assignee),
            changed: None,
            deadline: None,
            tenant_group: InboxParams::opt(&self.tenant_group),
            sort: InboxParams::opt(&self.sort),
            cursor: InboxParams::opt(&self.cursor),
            limit: Some(PAGE),
        })
    }

    /// The store's query for this view: the API's, then this view's work
    /// item chip, if any (the calendar and the feeds filter with it too).
    pub(crate) async fn query(
        &self,
        state: &AppState,
        caller: &Caller,
        now: Timestamp,
    ) -> UiResult<PostQuery> {
        let mut q = post_query(state, &self.post_params(now)?, caller).await?;
        self.apply_item_chip(&mut q, now);
        Ok(q)
    }

    /// Narrows `q` by this view's work item chip: awaiting triage (`new`),
    /// changed since triage (an open item flagged), overdue or missed at
    /// `now`, with the meaning of `Store::post_item_counts`, so a chip
    /// lists what it counts.
    fn apply_item_chip(&self, q: &mut PostQuery, now: Timestamp) {
        let open: Vec<ItemState> = ItemState::ALL
            .iter()
            .copied()
            .filter(|s| s.is_open())
            .collect();
        let deadline = |status| DeadlineFilter { status, now };
        match self.chip.trim() {
            "awaiting" => only_states(q, &[ItemState::New]),
            "changed" => {
                only_states(q, &open);
                q.changed_since_triage = Some(true);
            }
            "overdue" => q.deadline = Some(deadline(Deadline::Overdue)),
            "missed" => q.deadline = Some(deadline(Deadline::Missed)),
            _ => {}
        }
    }

    /// This view's query string without the page (`cursor`) and without
    /// the leading `?`: what a saved view keeps.
    fn view_query(&self) -> String {
        let q = view::query_string(self.pairs().into_iter().filter(|(k, _)| *k != "cursor"));
        q.trim_start_matches('?').to_string()
    }

    /// This view, every page of it, as a CSV file.
    fn csv_link(&self) -> String {
        let q = self.view_query();
        if q.is_empty() {
            "/?format=csv".to_string()
        } else {
            format!("/?{q}&format=csv")
        }
    }

    /// Whether the view is asked as a CSV file (`format=csv`).
    fn csv(&self) -> UiResult<bool> {
        Ok(page_as_csv(&self.format)?)
    }

    fn filtered(&self) -> bool {
        self.pairs()
            .into_iter()
            .any(|(k, v)| k != "sort" && k != "cursor" && !v.is_empty())
    }
}

/// Keeps only the work item states of `q` that are among `states` (all of
/// them when `q` asks for none). When none is left, nothing can match: the
/// scope becomes empty (which can only narrow it).
fn only_states(q: &mut PostQuery, states: &[ItemState]) {
    if q.item_states.is_empty() {
        q.item_states = states.to_vec();
        return;
    }
    q.item_states.retain(|s| states.contains(s));
    if q.item_states.is_empty() {
        q.scope = TenantScope::Only(Vec::new());
    }
}

/// An inbox query string (with or without its `?`) checked as the inbox
/// and the API read it (unknown parameters dropped, a bad value refused
/// with what is wrong) and written in the inbox's own form, without the
/// page: what a saved view keeps.
pub(crate) async fn normalize_query(
    state: &AppState,
    query: &str,
    now: Timestamp,
    caller: &Caller,
) -> UiResult<String> {
    let uri: axum::http::Uri = format!("/?{}", query.trim().trim_start_matches('?'))
        .parse()
        .map_err(|_| UiError::bad_request("the query string is not valid"))?;
    let Query(mut p) = Query::<InboxParams>::try_from_uri(&uri)
        .map_err(|e| UiError::bad_request(e.body_text()))?;
    // a view is every page of its posts
    p.cursor.clear();
    p.query(state, caller, now).await?;
    Ok(p.view_query())
}

/// A count chip: a number that is also a filter.
#[derive(Serialize, Deserialize)]
pub(crate) struct Chip {
    label: String,
    count: i64,
    href: String,
    active: bool,
}

/// A facet: its values with counts, each a link that sets or clears it.
#[derive(Serialize, Deserialize)]
pub(crate) struct Facet {
    title: String,
    values: Vec<FacetValue>,
    /// Values not shown.
    more: usize,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct FacetValue {
    label: String,
    count: i64,
    href: String,
    active: bool,
}

/// A post in the list.
#[derive(Serialize, Deserialize)]
pub(crate) struct Row {
    id: String,
    title: String,
    services: String,
    severity: String,
    major: bool,
    expired: bool,
    act_by: String,
    act_by_soon: bool,
    /// The rollout start the body gives (a day), or empty.
    rollout: String,
    /// Its newest revision moved a date (Graph's, or the body's timeline).
    date_moved: bool,
    /// When changedesk first saw it (canonical).
    first_seen: String,
    modified: String,
    revision: i64,
    tenants: String,
    item_state: Option<String>,
    assignee: String,
    /// The work item's priority (empty without an item), due day, labels.
    priority: String,
    due: String,
    labels: Vec<String>,
    snippet: Vec<(String, bool)>,
}

/// A filter in force, with the link that removes it.
#[derive(Serialize, Deserialize)]
pub(crate) struct ActiveFilter {
    label: String,
    clear: String,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    /// All but the layout: the same for everyone with the caller's rights
    /// (and for the caller alone with `assignee=me`).
    data: InboxView,
    /// What a bulk action just did.
    notice: Option<String>,
    /// The caller's previous visit (canonical, for comparing with the rows'
    /// first sight; empty on a first visit) and as people read it.
    new_after: String,
    previous_visit: String,
    /// One line per post.
    compact: bool,
    /// This page with the other density.
    density_link: String,
}

/// What the inbox shows of the archive: kept by the answer cache.
#[derive(Serialize, Deserialize)]
struct InboxView {
    q: String,
    sort: String,
    hidden: Vec<(String, String)>,
    /// Too many tenants in scope to count each: a box to name one instead,
    /// with the view's other parameters (and its tenant, if any).
    tenant_box: Option<(Vec<(String, String)>, String)>,
    chips: Vec<Chip>,
    facets: Vec<Facet>,
    active: Vec<ActiveFilter>,
    rows: Vec<Row>,
    total: i64,
    next: Option<String>,
    first: Option<String>,
    searching: bool,
    can_triage: bool,
    /// The tenant groups a bulk action may be for (with a tenant in scope).
    bulk_groups: Vec<String>,
    /// The owners a bulk action may assign to.
    bulk_owners: Vec<String>,
    /// The "changed since" day of the view, or empty.
    changed_since: String,
    /// Accepting the baseline would close something, and the caller may.
    baseline_pending: bool,
    back: String,
    /// The view's query string, for "save this view".
    view_query: String,
    /// The view, every page, as a CSV file.
    csv: String,
}

fn facet(
    title: &'static str,
    key: &'static str,
    counts: &[FacetCount],
    p: &InboxParams,
    label: impl Fn(&str) -> String,
) -> Facet {
    let values = counts
        .iter()
        .take(FACET_VALUES)
        .map(|c| FacetValue {
            label: label(&c.value),
            count: c.count,
            href: p.toggle(key, &c.value),
            active: p.is(key, &c.value),
        })
        .collect();
    Facet {
        title: title.to_string(),
        values,
        more: counts.len().saturating_sub(FACET_VALUES),
    }
}

/// An owner facet's value for people: `none` is "unassigned".
fn owner_label(v: &str) -> String {
    if v.eq_ignore_ascii_case(UNASSIGNED) {
        "unassigned".to_string()
    } else {
        v.to_string()
    }
}

/// `GET /`: the view's data from the answer cache (it depends on the time:
/// act-by soon, overdue and missed), the page around it made for the caller;
/// with `format=csv`, every page of the view as a CSV file.
pub(crate) async fn inbox(
    State(state): State<AppState>,
    user: SignedIn,
    uri: Uri,
    jar: CookieJar,
    Query(p): Query<InboxParams>,
) -> UiResult<Response> {
    if p.csv()? {
        return inbox_csv(&state, &user.caller, p).await;
    }
    // the density asked for is remembered; without one, the remembered one
    let (compact, jar) = match p.density.trim() {
        "" => (
            jar.get(DENSITY_COOKIE)
                .is_some_and(|c| c.value() == "compact"),
            jar,
        ),
        d @ ("compact" | "comfortable") => {
            let cookie = Cookie::build((DENSITY_COOKIE, d.to_string()))
                .path("/")
                .http_only(true)
                .secure(state.settings.secure_cookies)
                .same_site(SameSite::Lax)
                .max_age(time::Duration::days(365))
                .build();
            (d == "compact", jar.add(cookie))
        }
        other => {
            return Err(UiError::bad_request(format!(
                "density `{}` is not compact or comfortable",
                changedesk_core::text::clip_chars(other, 40)
            )));
        }
    };
    let density_link = format!(
        "/{}",
        view::query_string(
            p.pairs()
                .into_iter()
                .chain([("density", if compact { "comfortable" } else { "compact" })])
        )
    );
    let depends = DependsOn {
        time: true,
        caller: p.assignee.trim().eq_ignore_ascii_case("me"),
    };
    let notice = p.bulk_notice();
    // new since the caller's previous visit: the rows first seen after it
    let previous_visit = state
        .store
        .inbox_visit(user.caller.user_id, &state.now())
        .await?;
    let make = {
        let (state, caller) = (state.clone(), user.caller.clone());
        move || async move { inbox_view(&state, &caller, &p).await }
    };
    let (data, hit) = cache::value(&state, &user.caller, &uri, depends, make).await?;
    let mut page = html(&InboxPage {
        layout: user.layout("Inbox", "inbox"),
        data,
        notice,
        new_after: previous_visit.map(|t| t.to_canonical()).unwrap_or_default(),
        previous_visit: previous_visit.map(|t| view::when(&t)).unwrap_or_default(),
        compact,
        density_link,
    })?;
    if let Some(hit) = hit {
        page.headers_mut()
            .insert(CACHE_HEADER, cache::hit_header(hit));
    }
    Ok((jar, page).into_response())
}

/// The view's posts, every page from the first, as a CSV file: the same
/// filters, chip and scope as the page.
async fn inbox_csv(state: &AppState, caller: &Caller, mut p: InboxParams) -> UiResult<Response> {
    let now = state.now();
    p.cursor.clear();
    let q = p.query(state, caller, now).await?;
    let tenant = Some(p.tenant.trim()).filter(|t| !t.is_empty());
    let csv = posts_csv(state, caller, q, tenant).await?;
    Ok(csv_answer(csv, "posts", now))
}

/// What the inbox shows for `p` to `caller` now.
async fn inbox_view(state: &AppState, caller: &Caller, p: &InboxParams) -> UiResult<InboxView> {
    let now = state.now();
    let pq: PostQuery = p.query(state, caller, now).await?;
    // chips count the whole scope, whatever the view
    let everything = PostQuery::new(scope_of(caller));
    let mut soon = everything.clone();
    soon.act_by_from = Some(now);
    soon.act_by_to = Some(now.saturating_add(time::Duration::days(SOON_DAYS)));
    soon.limit = 1;
    // the page, its facets and the chips' counts are independent reads:
    // asked at once, the database answers them side by side
    let store = &state.store;
    let (page, facets, severities, soon_total, items) = tokio::try_join!(
        store.query_posts(&pq),
        store.post_facets(&pq),
        async {
            match p.filtered() {
                true => store.post_severity_counts(&everything).await.map(Some),
                false => Ok(None),
            }
        },
        async { Ok(store.query_posts(&soon).await?.total) },
        store.post_item_counts(&everything, now),
    )?;
    let all = severities.unwrap_or_else(|| changedesk_store::SeverityCounts {
        severities: facets.severities.clone(),
        major: facets.major,
    });
    // each group's count is what choosing it lists: the view in the
    // caller's whole scope
    let groups = if p.tenant_group.trim().is_empty() {
        group_counts(state, caller, &pq).await?
    } else {
        let anywhere = InboxParams {
            tenant_group: String::new(),
            ..p.clone()
        };
        let q = anywhere.query(state, caller, now).await?;
        group_counts(state, caller, &q).await?
    };
    let high: i64 = all
        .severities
        .iter()
        .filter(|c| !c.value.eq_ignore_ascii_case("normal"))
        .map(|c| c.count)
        .sum();
    let chip = |label: &str, count, value| Chip {
        label: label.to_string(),
        count,
        href: p.toggle("chip", value),
        active: p.is("chip", value),
    };
    let chips = vec![
        chip("Awaiting triage", items.awaiting, "awaiting"),
        chip("Act-by soon", soon_total, "act_by_soon"),
        Chip {
            label: "Major".to_string(),
            count: all.major,
            href: p.toggle("major", "true"),
            active: p.is("major", "true"),
        },
        chip("High or critical", high, "high"),
        chip("Changed since triage", items.changed, "changed"),
        chip("Overdue", items.overdue, "overdue"),
        chip("Missed", items.missed, "missed"),
    ];

    let state_counts = [("active", facets.visible), ("expired", facets.gone)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(v, n)| FacetCount {
            value: v.to_string(),
            count: n,
        })
        .collect::<Vec<_>>();
    let owners = assignee_facet(&facets);
    let facet_list = vec![
        facet("Service", "service", &facets.services, p, str::to_string),
        facet("Tenant", "tenant", &facets.tenants, p, str::to_string),
        facet(
            "Category",
            "category",
            &facets.categories,
            p,
            view::category_label,
        ),
        facet(
            "Severity",
            "severity",
            &facets.severities,
            p,
            str::to_string,
        ),
        facet("Tag", "tag", &facets.tags, p, str::to_string),
        facet("State", "state", &state_counts, p, str::to_string),
        facet("Tenant group", "tenant_group", &groups, p, str::to_string),
        facet("Owner", "assignee", &owners, p, owner_label),
        facet("Work state", "item_state", &facets.item_states, p, |s| {
            view::state_label(s).to_string()
        }),
    ];

    let mut active = Vec::new();
    for (key, label) in [
        ("q", "search"),
        ("tenant", "tenant"),
        ("tenant_group", "tenant group"),
        ("service", "service"),
        ("tag", "tag"),
        ("category", "category"),
        ("severity", "severity"),
        ("major", "major"),
        ("state", "state"),
        ("assignee", "owner"),
        ("item_state", "work state"),
        ("chip", "chip"),
        ("changed_since", "changed since"),
    ] {
        let v = p
            .pairs()
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        if !v.is_empty() {
            let shown = match (key, v.as_str()) {
                ("chip", "act_by_soon") => format!("act-by within {SOON_DAYS} days"),
                ("chip", "high") => "high or critical".to_string(),
                ("chip", "awaiting") => "awaiting triage".to_string(),
                ("chip", "changed") => "changed since triage".to_string(),
                ("assignee", a) => owner_label(a),
                ("item_state", s) => view::state_label(s).to_string(),
                ("category", c) => view::category_label(c),
                _ => v.clone(),
            };
            active.push(ActiveFilter {
                label: format!("{label}: {shown}"),
                clear: p.with(key, ""),
            });
        }
    }

    let soon_until = now.saturating_add(time::Duration::days(SOON_DAYS));
    let tenant_groups = Groups::load(state, caller).await?;
    let rows = page
        .items
        .iter()
        .map(|h| {
            let s = &h.summary;
            let item = h.item.as_ref();
            Row {
                id: s.id.clone(),
                title: s.title.clone(),
                services: s.services.join(", "),
                severity: s.severity.clone(),
                major: s.is_major,
                expired: s.state == changedesk_store::PostState::Expired,
                act_by: view::date(&s.act_by),
                act_by_soon: s.act_by.is_some_and(|a| a >= now && a <= soon_until),
                rollout: view::date(&s.rollout_start),
                date_moved: s.date_moved,
                first_seen: s.first_seen.to_canonical(),
                modified: view::date(&s.last_modified),
                revision: s.revision,
                tenants: tenant_groups.row(h.tenants.clone(), false).describe(),
                item_state: item.map(|i| view::state_label(i.state.as_str()).to_string()),
                assignee: item.and_then(|i| i.assignee.clone()).unwrap_or_default(),
                priority: item
                    .map(|i| i.priority.as_str().to_string())
                    .unwrap_or_default(),
                due: view::date(&item.and_then(|i| i.due)),
                labels: item.map(|i| i.labels.clone()).unwrap_or_default(),
                snippet: h.snippet.iter().map(|s| (s.text.clone(), s.hit)).collect(),
            }
        })
        .collect();

    let hidden = p
        .pairs()
        .into_iter()
        .filter(|(k, v)| !matches!(*k, "q" | "sort" | "cursor") && !v.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let tenant_box = facets.tenants_uncounted.then(|| {
        let others = p
            .pairs()
            .into_iter()
            .filter(|(k, v)| !matches!(*k, "tenant" | "cursor") && !v.is_empty())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        (others, p.tenant.trim().to_string())
    });
    let next = page.next_cursor.as_deref().map(|c| {
        format!(
            "/{}",
            view::query_string(p.pairs().into_iter().map(|(k, v)| if k == "cursor" {
                (k, c)
            } else {
                (k, v)
            }))
        )
    });
    let first = (!p.cursor.trim().is_empty()).then(|| p.with("cursor", ""));
    let back = format!("/{}", view::query_string(p.pairs()));
    let can_triage = caller.require(Need::TriageAny).is_ok()
        || caller.role == changedesk_core::access::Role::Owner;
    let baseline_pending = caller.require(Need::TriageAny).is_ok()
        && caller.unrestricted()
        && state.store.baseline_pending().await?;
    let (bulk_groups, bulk_owners) = if can_triage {
        (
            tenant_groups.names(),
            state
                .store
                .owners()
                .await?
                .into_iter()
                .map(|o| o.name)
                .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(InboxView {
        q: p.q.trim().to_string(),
        sort: p.sort.trim().to_string(),
        hidden,
        tenant_box,
        chips,
        facets: facet_list,
        active,
        rows,
        total: page.total,
        next,
        first,
        searching: !p.q.trim().is_empty(),
        can_triage,
        bulk_groups,
        bulk_owners,
        changed_since: p.changed_since.trim().to_string(),
        baseline_pending,
        back,
        view_query: p.view_query(),
        csv: p.csv_link(),
    })
}

/// A row's preview, fetched when the row's **Preview** opens (the inbox
/// stays light: 50 previews would weigh more than the rest of the page).
#[derive(Template)]
#[template(path = "preview.html")]
struct PreviewFragment {
    id: String,
    summary: String,
    /// The timeline's phases: name, when.
    phases: Vec<(String, String)>,
    prepare: String,
}

/// `GET /posts/{id}/preview`: the preview of a post in the caller's scope
/// as an HTML fragment (what the post is about, its rollout phases, what to
/// do); 404 outside it.
pub(crate) async fn preview(
    State(state): State<AppState>,
    user: SignedIn,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> UiResult<Response> {
    let hit = crate::http::routes::comms::post_in_scope(&state, &user.caller, &id).await?;
    let fragment = PreviewFragment {
        id: hit.summary.id.clone(),
        summary: hit.summary.preview.summary,
        phases: hit
            .timeline
            .phases
            .iter()
            .map(|p| (p.name(), p.when()))
            .collect(),
        prepare: hit.summary.preview.prepare,
    };
    let mut answer = html(&fragment)?;
    answer.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("private, max-age=60"),
    );
    Ok(answer)
}
