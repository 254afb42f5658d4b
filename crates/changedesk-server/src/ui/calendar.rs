//! The calendar (`/calendar?month=2026-05`, `/calendar?week=2026-W20`): the
//! rollout phases, act-by dates and work item due dates of the posts the
//! inbox's filters select (the same query string, read by the inbox's own
//! code, so the calendar of a saved view is `/calendar?` and the view's
//! query), within the caller's tenant scope, a month or a week at a time.
//!
//! What a post's dates are is worked out here once, for this page and for
//! the feeds of saved views (`ui::feeds`): [`gather`] reads the matching
//! posts (newest first, at most a number the caller gives), their work
//! items, and each post's timeline as stored with its current revision, and gives a [`Dated`] per phase with a date, act-by
//! date and due date. All dates are whole days (UTC).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::Response;
use changedesk_core::Timestamp;
use changedesk_core::timeline::{self, Cloud, DateRange, Ring};
use changedesk_store::{CalendarPost, ItemFilter, PostSort};
use serde::Deserialize;
use time::{Date, Duration, Month, Weekday};

use super::inbox::InboxParams;
use super::view::{self, Layout};
use super::{SignedIn, UiError, UiResult, html};
use crate::http::AppState;
use crate::http::auth::Caller;

/// The most posts the calendar page reads (the newest of its filter).
pub(crate) const PAGE_POSTS: usize = changedesk_store::MAX_CALENDAR_POSTS;
/// Posts a page of the post query reads at once.
const QUERY_PAGE: u32 = 200;
/// The most tenants with a due date of their own a post shows (the others
/// are in the post's work item).
const TENANT_DUES: usize = 10;

/// What a dated entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A rollout phase, and which of the post's phases of that ring and
    /// cloud it is (1, 2, … in the body's order).
    Phase { ring: Ring, cloud: Cloud, n: usize },
    /// The post's act-by date (Microsoft's `actionRequiredByDateTime`).
    ActBy,
    /// The work item's due date: the item's own (`None`), in force for the
    /// tenants in scope without a date of their own, or one tenant's.
    Due { tenant: Option<String> },
}

impl Kind {
    /// For people: `General availability (Worldwide)`, `Act by`, `Due for
    /// contoso`.
    pub(crate) fn label(&self) -> String {
        match self {
            Kind::Phase { ring, cloud, .. } => format!("{} ({})", ring.label(), cloud.label()),
            Kind::ActBy => "Act by".to_string(),
            Kind::Due { tenant: None } => "Due".to_string(),
            Kind::Due { tenant: Some(t) } => format!("Due for {t}"),
        }
    }

    /// What tells it apart among the post's entries, whatever its dates:
    /// `general_availability-worldwide-1`, `act_by`, `due`, `due-contoso`
    /// (an event's UID is the post's id and this).
    pub(crate) fn key(&self) -> String {
        match self {
            Kind::Phase { ring, cloud, n } => {
                format!("{}-{}-{n}", serde_key(ring), serde_key(cloud))
            }
            Kind::ActBy => "act_by".to_string(),
            Kind::Due { tenant: None } => "due".to_string(),
            Kind::Due { tenant: Some(t) } => format!("due-{}", uid_safe(t)),
        }
    }

    /// Its place among a post's entries of a day: phases by ring and cloud
    /// (worldwide first), then the act-by date, then due dates.
    fn order(&self) -> (u8, Option<Ring>, Option<Cloud>, usize, Option<&str>) {
        match self {
            Kind::Phase { ring, cloud, n } => (0, Some(*ring), Some(*cloud), *n, None),
            Kind::ActBy => (1, None, None, 0, None),
            Kind::Due { tenant } => (2, None, None, 0, tenant.as_deref()),
        }
    }

    /// The CSS class of its entries.
    fn class(&self) -> &'static str {
        match self {
            Kind::Phase {
                ring: Ring::Retirement,
                ..
            } => "retirement",
            Kind::Phase { .. } => "phase",
            Kind::ActBy => "act-by",
            Kind::Due { .. } => "due",
        }
    }
}

/// An enum's serde name (`general_availability`), the names the timeline
/// is written with.
fn serde_key<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "other".to_string(),
    }
}

/// Letters, digits, `.`, `_` and `-` of `s`, the rest as `_`.
pub(crate) fn uid_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A post's phase, act-by date or due date, with its days.
#[derive(Debug, Clone)]
pub(crate) struct Dated {
    pub post_id: String,
    pub title: String,
    pub kind: Kind,
    /// Its first and last day, both included.
    pub first: Date,
    pub last: Date,
    /// A phase with a start and an end: the first day of its end.
    pub ends: Option<Date>,
    /// When, as the post says: `mid-May 2026 → late June 2026`.
    pub when: String,
    /// The sentence a phase was read from; empty for the others.
    pub text: String,
    /// Grows when its dates may have moved: the post's revision (the
    /// work item's version for a due date).
    pub sequence: i64,
    /// When the post last changed.
    pub modified: Timestamp,
}

impl Dated {
    /// The days on which the calendar page shows it, with what happens
    /// then: a phase begins on its first day and ends on the first day of
    /// its end; a date is a single mark.
    fn marks(&self) -> Vec<(Date, &'static str)> {
        match self.ends {
            Some(end) if end > self.first => vec![(self.first, "begins"), (end, "ends")],
            _ => vec![(self.first, "")],
        }
    }
}

/// The posts a filter selects, with their dated entries.
pub(crate) struct Gathered {
    /// Newest first.
    pub posts: Vec<CalendarPost>,
    /// By first day, then post, then kind.
    pub dated: Vec<Dated>,
    /// More posts match than were read.
    pub capped: bool,
}

/// The newest `max_posts` posts `filter` selects for `caller` (the inbox's
/// query, in the caller's tenant scope), their dates, and those of their
/// work items in force for the caller's tenants.
pub(crate) async fn gather(
    state: &AppState,
    caller: &Caller,
    filter: &InboxParams,
    max_posts: usize,
    now: Timestamp,
) -> UiResult<Gathered> {
    let mut q = filter.query(state, caller, now).await?;
    q.sort = PostSort::Newest;
    q.cursor = None;
    q.limit = QUERY_PAGE.min(u32::try_from(max_posts).unwrap_or(QUERY_PAGE).max(1));
    let mut ids: Vec<String> = Vec::new();
    let mut capped = false;
    loop {
        let page = state.store.list_posts(&q).await?;
        let mut left = page.items.len();
        for hit in page.items {
            if ids.len() >= max_posts {
                break;
            }
            left -= 1;
            ids.push(hit.summary.id);
        }
        if ids.len() >= max_posts {
            capped = left > 0 || page.next_cursor.is_some();
            break;
        }
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    let (posts, items) = tokio::try_join!(state.store.calendar_posts(&ids), async {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        state
            .store
            .work_items(&ItemFilter {
                post_ids: Some(ids.clone()),
                visible_to: caller.tenants.names().map(|n| n.iter().cloned().collect()),
                names_for_exceptions_only: true,
                ..ItemFilter::default()
            })
            .await
    })?;
    let mut dated = Vec::new();
    for post in &posts {
        dated.extend(post_dates(post));
    }
    let by_id: std::collections::HashMap<&str, &CalendarPost> =
        posts.iter().map(|p| (p.id.as_str(), p)).collect();
    for row in &items {
        if let Some(post) = by_id.get(row.stored.item.message_id.as_str()) {
            dated.extend(due_dates(post, row, caller));
        }
    }
    dated.sort_by(|a, b| {
        (a.first, &a.post_id, a.kind.order()).cmp(&(b.first, &b.post_id, b.kind.order()))
    });
    Ok(Gathered {
        posts,
        dated,
        capped,
    })
}

/// A post's phases with a date, and its act-by date.
fn post_dates(post: &CalendarPost) -> Vec<Dated> {
    let modified = post.modified();
    let base = |kind, first, last, ends, when, text| Dated {
        post_id: post.id.clone(),
        title: post.content.title.clone(),
        kind,
        first,
        last,
        ends,
        when,
        text,
        sequence: post.revision,
        modified,
    };
    let mut out = Vec::new();
    let mut seen: Vec<(Ring, Cloud)> = Vec::new();
    // the timeline stored with the post's current revision
    for phase in post.timeline.phases.iter().cloned() {
        seen.push((phase.ring, phase.cloud));
        let n = seen
            .iter()
            .filter(|k| **k == (phase.ring, phase.cloud))
            .count();
        let (first, last, ends) = match (phase.start, phase.end) {
            (Some(s), Some(e)) => (s.from, e.to.max(s.to), Some(e.from)),
            (Some(r), None) | (None, Some(r)) => (r.from, r.to, None),
            (None, None) => continue,
        };
        let kind = Kind::Phase {
            ring: phase.ring,
            cloud: phase.cloud,
            n,
        };
        out.push(base(kind, first, last, ends, phase.when(), phase.text));
    }
    if let Some(act_by) = post.content.act_by {
        let d = act_by.as_datetime().date();
        out.push(base(
            Kind::ActBy,
            d,
            d,
            None,
            DateRange::day(d).describe(),
            String::new(),
        ));
    }
    out
}

/// A work item's due dates in force for the caller's tenants that see its
/// post: the item's own (when some tenant has no date of its own), and
/// those of tenants whose date differs. None for a closed item, nor for a
/// tenant where it is closed or does not apply.
fn due_dates(post: &CalendarPost, row: &changedesk_store::ItemRow, caller: &Caller) -> Vec<Dated> {
    let item = &row.stored.item;
    let entry = |tenant: Option<String>, due: Timestamp| {
        let d = due.as_datetime().date();
        Dated {
            post_id: post.id.clone(),
            title: post.content.title.clone(),
            kind: Kind::Due { tenant },
            first: d,
            last: d,
            ends: None,
            when: DateRange::day(d).describe(),
            text: String::new(),
            sequence: row.stored.version,
            modified: post.modified(),
        }
    };
    let mut out = Vec::new();
    let named: Vec<&String> = row.tenants.iter().filter(|t| caller.sees(t)).collect();
    let own_in_force = row.unnamed() > 0
        || named
            .iter()
            .any(|t| item.override_for(t).is_none_or(|o| o.due.is_none()) && item.is_open_for(t));
    if let Some(due) = item.due
        && item.state.is_open()
        && (own_in_force || row.tenant_count == 0)
    {
        out.push(entry(None, due));
    }
    let mut theirs = 0;
    for t in named {
        let Some(due) = item.override_for(t).and_then(|o| o.due) else {
            continue;
        };
        if Some(due) == item.due || !item.is_open_for(t) || theirs >= TENANT_DUES {
            continue;
        }
        theirs += 1;
        out.push(entry(Some(t.clone()), due));
    }
    out
}

/// Which days the page shows.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct CalendarParams {
    /// `2026-05`.
    #[serde(default)]
    month: String,
    /// `2026-W20` (ISO week).
    #[serde(default)]
    week: String,
}

/// What the page shows: a month (its weeks, Monday to Sunday) or a week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Month { year: i32, month: Month },
    Week { monday: Date },
}

/// Years the page goes to.
const YEARS: std::ops::RangeInclusive<i32> = 1990..=2200;

/// `2026-05` as a month.
fn parse_month(s: &str) -> Option<(i32, Month)> {
    let (y, m) = s.trim().split_once('-')?;
    let year: i32 = y.parse().ok().filter(|y| YEARS.contains(y))?;
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Some((year, month))
}

/// `2026-W20` (or `2026-w20`) as the Monday of that ISO week.
fn parse_week(s: &str) -> Option<Date> {
    let (y, w) = s.trim().split_once('-')?;
    let w = w.strip_prefix('W').or_else(|| w.strip_prefix('w'))?;
    let year: i32 = y.parse().ok().filter(|y| YEARS.contains(y))?;
    Date::from_iso_week_date(year, w.parse().ok()?, Weekday::Monday).ok()
}

use changedesk_core::metrics::monday_of;

fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(Duration::days(n)).unwrap_or(d)
}

fn month_first(year: i32, month: Month) -> Date {
    Date::from_calendar_date(year, month, 1).unwrap_or(Date::MIN)
}

/// The ISO week-numbering year of `d` (2026 for 2025-12-29, a Monday of
/// week 1 of 2026).
fn iso_year(d: Date) -> i32 {
    d.to_iso_week_date().0
}

fn week_label(monday: Date) -> String {
    format!("{}-W{:02}", iso_year(monday), monday.iso_week())
}

impl Span {
    /// The days shown: whole weeks, Monday to Sunday.
    fn days(&self) -> (Date, Date) {
        match *self {
            Span::Month { year, month } => {
                let first = month_first(year, month);
                let last = add_days(first, i64::from(month.length(year)) - 1);
                (monday_of(first), add_days(monday_of(last), 6))
            }
            Span::Week { monday } => (monday, add_days(monday, 6)),
        }
    }

    fn title(&self) -> String {
        match *self {
            Span::Month { year, month } => format!("{month} {year}"),
            Span::Week { monday } => {
                let sunday = add_days(monday, 6);
                format!(
                    "Week {} of {}: {} – {}",
                    monday.iso_week(),
                    iso_year(monday),
                    short_date(monday),
                    short_date(sunday)
                )
            }
        }
    }

    /// The span before and after, and the other kind of span around it.
    fn prev(&self) -> Span {
        match *self {
            Span::Month { year, month } => {
                let (y, m) = match month {
                    Month::January => (year - 1, Month::December),
                    m => (year, m.previous()),
                };
                Span::Month { year: y, month: m }
            }
            Span::Week { monday } => Span::Week {
                monday: add_days(monday, -7),
            },
        }
    }

    fn next(&self) -> Span {
        match *self {
            Span::Month { year, month } => {
                let (y, m) = match month {
                    Month::December => (year + 1, Month::January),
                    m => (year, m.next()),
                };
                Span::Month { year: y, month: m }
            }
            Span::Week { monday } => Span::Week {
                monday: add_days(monday, 7),
            },
        }
    }

    /// The week of `today` in this month (else its first week), or the
    /// month of this week's Thursday.
    fn other(&self, today: Date) -> Span {
        match *self {
            Span::Month { year, month } => {
                let day = if today.year() == year && today.month() == month {
                    today
                } else {
                    month_first(year, month)
                };
                Span::Week {
                    monday: monday_of(day),
                }
            }
            Span::Week { monday } => {
                let thursday = add_days(monday, 3);
                Span::Month {
                    year: thursday.year(),
                    month: thursday.month(),
                }
            }
        }
    }

    /// Its parameter: `("month", "2026-05")` or `("week", "2026-W20")`.
    fn param(&self) -> (&'static str, String) {
        match *self {
            Span::Month { year, month } => ("month", format!("{year:04}-{:02}", u8::from(month))),
            Span::Week { monday } => ("week", week_label(monday)),
        }
    }

    fn in_range(&self) -> bool {
        let (first, last) = self.days();
        YEARS.contains(&first.year()) && YEARS.contains(&last.year())
    }
}

fn weekday_short(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

/// `Tue 10 March`.
fn short_date(d: Date) -> String {
    format!("{} {} {}", weekday_short(d.weekday()), d.day(), d.month())
}

/// An entry of a day.
pub(crate) struct Entry {
    class: &'static str,
    /// `General availability`, `Act by`, `Due for contoso`.
    head: String,
    /// A phase's clouds: the post's phases of one ring that begin (or end)
    /// on the same day are one entry.
    clouds: Vec<&'static str>,
    /// `begins`, `ends` or nothing.
    what: &'static str,
    post_id: String,
    title: String,
    href: String,
    /// `mid-May 2026 → late June 2026`.
    when: String,
}

impl Entry {
    /// `General availability (Worldwide, GCC) begins`.
    fn label(&self) -> String {
        let mut s = self.head.clone();
        if !self.clouds.is_empty() {
            s = format!("{s} ({})", self.clouds.join(", "));
        }
        if !self.what.is_empty() {
            s = format!("{s} {}", self.what);
        }
        s
    }
}

pub(crate) struct Day {
    /// `2026-03-10`.
    iso: String,
    number: u8,
    /// `Tue 10 March`.
    label: String,
    /// In the month shown (a month's grid starts and ends with whole weeks).
    inside: bool,
    today: bool,
    entries: Vec<Entry>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    layout: Layout,
    title: String,
    week: bool,
    prev: String,
    next: String,
    today_link: String,
    /// The other kind of span: (its link, its name).
    other: (String, &'static str),
    weekdays: [&'static str; 7],
    /// Weeks of days, Monday first.
    weeks: Vec<Vec<Day>>,
    /// The filters in words, and the inbox with them.
    filters: String,
    inbox: String,
    /// The saved views, as calendars: (name, link, current).
    views: Vec<(String, String, bool)>,
    entries: usize,
    capped: bool,
    max_posts: usize,
}

/// The query string's filters (without the calendar's own parameters and
/// the inbox's page), for the links of the page.
fn filter_pairs(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .filter(|(k, v)| !matches!(k.as_ref(), "month" | "week" | "cursor") && !v.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn link(filters: &[(String, String)], span: Span) -> String {
    let (k, v) = span.param();
    let pairs = filters
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain([(k, v.as_str())]);
    format!("/calendar{}", view::query_string(pairs))
}

/// `GET /calendar`: the month (`month=YYYY-MM`, this month by default) or
/// week (`week=YYYY-Www`) with the inbox's filters.
pub(crate) async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    uri: Uri,
    Query(filter): Query<InboxParams>,
    Query(p): Query<CalendarParams>,
) -> UiResult<Response> {
    let now = state.now();
    let today = now.as_datetime().date();
    let span = if !p.week.trim().is_empty() {
        let monday = parse_week(&p.week).ok_or_else(|| {
            UiError::bad_request(format!(
                "week `{}` is not a week like 2026-W20",
                p.week.trim()
            ))
        })?;
        Span::Week { monday }
    } else if !p.month.trim().is_empty() {
        let (year, month) = parse_month(&p.month).ok_or_else(|| {
            UiError::bad_request(format!(
                "month `{}` is not a month like 2026-05",
                p.month.trim()
            ))
        })?;
        Span::Month { year, month }
    } else {
        Span::Month {
            year: today.year(),
            month: today.month(),
        }
    };
    if !span.in_range() {
        return Err(UiError::bad_request(format!(
            "the calendar shows the years {} to {}",
            YEARS.start(),
            YEARS.end()
        )));
    }
    let gathered = gather(&state, &user.caller, &filter, PAGE_POSTS, now).await?;
    let (from, to) = span.days();
    let month = match span {
        Span::Month { month, .. } => Some(month),
        Span::Week { .. } => None,
    };
    let mut days: Vec<Day> = Vec::new();
    let mut d = from;
    while d <= to {
        days.push(Day {
            iso: timeline::iso(d),
            number: d.day(),
            label: short_date(d),
            inside: month.is_none_or(|m| d.month() == m),
            today: d == today,
            entries: Vec::new(),
        });
        match d.next_day() {
            Some(n) => d = n,
            None => break,
        }
    }
    let mut entries = 0;
    for e in &gathered.dated {
        for (day, what) in e.marks() {
            if day < from || day > to {
                continue;
            }
            let index = usize::try_from((day - from).whole_days()).unwrap_or(usize::MAX);
            let Some(slot) = days.get_mut(index) else {
                continue;
            };
            let (head, cloud) = match &e.kind {
                Kind::Phase { ring, cloud, .. } => (ring.label().to_string(), Some(cloud.label())),
                k => (k.label(), None),
            };
            let same = slot.entries.iter_mut().find(|x| {
                cloud.is_some()
                    && !x.clouds.is_empty()
                    && x.post_id == e.post_id
                    && x.head == head
                    && x.what == what
            });
            match (same, cloud) {
                (Some(x), Some(c)) => {
                    if !x.clouds.contains(&c) {
                        x.clouds.push(c);
                    }
                }
                _ => {
                    slot.entries.push(Entry {
                        class: e.kind.class(),
                        head,
                        clouds: cloud.into_iter().collect(),
                        what,
                        post_id: e.post_id.clone(),
                        title: e.title.clone(),
                        href: format!("/posts/{}", view::encode(&e.post_id)),
                        when: e.when.clone(),
                    });
                    entries += 1;
                }
            }
        }
    }
    let mut weeks = Vec::new();
    let mut days = days.into_iter().peekable();
    while days.peek().is_some() {
        weeks.push(days.by_ref().take(7).collect::<Vec<_>>());
    }
    let filters = filter_pairs(&uri);
    let described = if filters.is_empty() {
        "every post you see".to_string()
    } else {
        filters
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let inbox_query = view::query_string(filters.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let current = inbox_query.trim_start_matches('?').to_string();
    let views = user
        .views
        .iter()
        .map(|v| {
            (
                v.name.clone(),
                format!(
                    "/calendar{}",
                    if v.query.is_empty() {
                        String::new()
                    } else {
                        format!("?{}", v.query)
                    }
                ),
                v.query == current,
            )
        })
        .collect();
    let today_span = match span {
        Span::Month { .. } => Span::Month {
            year: today.year(),
            month: today.month(),
        },
        Span::Week { .. } => Span::Week {
            monday: monday_of(today),
        },
    };
    let other = span.other(today);
    html(&CalendarPage {
        layout: user.layout(format!("Calendar: {}", span.title()), "calendar"),
        title: span.title(),
        week: matches!(span, Span::Week { .. }),
        prev: link(&filters, span.prev()),
        next: link(&filters, span.next()),
        today_link: link(&filters, today_span),
        other: (
            link(&filters, other),
            match other {
                Span::Month { .. } => "Month",
                Span::Week { .. } => "Week",
            },
        ),
        weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        weeks,
        filters: described,
        inbox: format!("/{inbox_query}"),
        views,
        entries,
        capped: gathered.capped,
        max_posts: PAGE_POSTS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn months_and_weeks_read_and_never_panic() {
        assert_eq!(parse_month("2026-05"), Some((2026, Month::May)));
        assert_eq!(parse_month(" 2026-5 "), Some((2026, Month::May)));
        for bad in [
            "", "2026", "2026-13", "2026-00", "x-05", "99999-01", "2026-é", "-",
        ] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
        assert_eq!(parse_week("2026-W11"), Some(date!(2026 - 03 - 09)));
        assert_eq!(parse_week("2026-w01"), Some(date!(2025 - 12 - 29)));
        for bad in [
            "", "2026-11", "2026-W54", "2026-W", "W11", "2026-Wé", "0-W1",
        ] {
            assert_eq!(parse_week(bad), None, "{bad}");
        }
    }

    #[test]
    fn spans_cover_whole_weeks_and_move() {
        let march = Span::Month {
            year: 2026,
            month: Month::March,
        };
        assert_eq!(march.days(), (date!(2026 - 02 - 23), date!(2026 - 04 - 05)));
        assert_eq!(march.title(), "March 2026");
        assert_eq!(march.param(), ("month", "2026-03".to_string()));
        let jan = Span::Month {
            year: 2026,
            month: Month::January,
        };
        assert_eq!(
            jan.prev(),
            Span::Month {
                year: 2025,
                month: Month::December
            }
        );
        let week = march.other(date!(2026 - 03 - 10));
        assert_eq!(
            week,
            Span::Week {
                monday: date!(2026 - 03 - 09)
            }
        );
        assert_eq!(week.param(), ("week", "2026-W11".to_string()));
        assert_eq!(week.next().param(), ("week", "2026-W12".to_string()));
        assert_eq!(week.other(date!(2026 - 03 - 10)), march);
        assert_eq!(week.title(), "Week 11 of 2026: Mon 9 March – Sun 15 March");
    }

    #[test]
    fn keys_are_stable_and_safe() {
        let k = Kind::Phase {
            ring: Ring::GeneralAvailability,
            cloud: Cloud::GccHigh,
            n: 2,
        };
        assert_eq!(k.key(), "general_availability-gcc_high-2");
        assert_eq!(k.label(), "General availability (GCC High)");
        assert_eq!(Kind::ActBy.key(), "act_by");
        assert_eq!(
            Kind::Due {
                tenant: Some("contoso ltd/é".into())
            }
            .key(),
            "due-contoso_ltd__"
        );
    }
}
