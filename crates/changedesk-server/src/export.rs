//! CSV exports of lists (issue 20): one writer ([`write`]) and one row shape
//! per kind of list — posts ([`POST_HEADERS`], [`post_record`]) and work
//! items ([`ITEM_HEADERS`], [`item_record`]) with their decisions and the
//! reasons given for them ([`decision_reasons`]) —, shared by the CLI's
//! `--format csv`, the web UI's "Download CSV" links and the API's
//! `text/csv` answers.
//!
//! RFC 4180 (a header row, `\r\n` between records, quotes where needed),
//! instants as ISO 8601 to the second in UTC (`2026-05-14T09:30:00Z`), enums
//! by their snake_case names, lists joined with `; `. Every cell is made safe
//! for spreadsheets ([`cell`]): titles and reasons are third-party text, and
//! a cell starting with `=`, `+`, `-` or `@` would be run as a formula.

use std::borrow::Cow;
use std::collections::HashMap;

use changedesk_core::Timestamp;
use changedesk_core::triage::{
    LogAction, LogEntry, LogScope, State, WorkItem, changed_since_triage, deadline_status,
};
use changedesk_store::{ItemRow, PostSummary, Store, StoreError};

/// The most rows one export holds (the web UI's and the API's): beyond it
/// the answer says it was cut ([`TRUNCATED_HEADER`], and the file's name).
pub const MAX_ROWS: usize = 10_000;

/// The media type of an export.
pub const CONTENT_TYPE: &str = "text/csv; charset=utf-8";

/// The header an export cut at [`MAX_ROWS`] carries, with the number of
/// rows it holds.
pub const TRUNCATED_HEADER: &str = "x-changedesk-truncated";

/// What the CLI says of a single document asked as CSV.
pub const NOT_A_LIST: &str = "--format csv is for lists: this command prints a document, not a list of records (use --format json)";

/// A cell as a spreadsheet may open it: one starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return (what Excel, LibreOffice and Google
/// Sheets read as a formula, or strip before one) gets a leading `'`, which
/// they show as text (OWASP's CSV injection advice).
pub fn cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// An instant as ISO 8601 in UTC to the second: `2026-05-14T09:30:00Z`.
pub fn time(t: Option<Timestamp>) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    t.map(|t| {
        t.as_datetime()
            .format(&f)
            .unwrap_or_else(|_| t.to_canonical())
    })
    .unwrap_or_default()
}

/// A list in one cell: `Microsoft Teams; Exchange Online`.
pub fn list<S: AsRef<str>>(values: &[S]) -> String {
    values
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join("; ")
}

/// `true` or `false`.
pub fn flag(b: bool) -> String {
    b.to_string()
}

/// The CSV text of `rows` under `headers`: RFC 4180, every cell through
/// [`cell`]. A row shorter or longer than the header is written as it is
/// (the writer is flexible): the row shapes of this module are fixed.
pub fn write<R, C>(headers: &[&str], rows: R) -> Result<Vec<u8>, csv::Error>
where
    R: IntoIterator<Item = C>,
    C: IntoIterator,
    C::Item: AsRef<str>,
{
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(Vec::new());
    w.write_record(headers.iter().map(|h| cell(h).into_owned()))?;
    for row in rows {
        w.write_record(row.into_iter().map(|c| cell(c.as_ref()).into_owned()))?;
    }
    w.into_inner().map_err(|e| e.into_error().into())
}

/// The state whose decision is in force for `tenant` (the tenant's own
/// state when it has one, else the item's) and the log scope that records
/// it.
fn decided(item: &WorkItem, tenant: Option<&str>) -> (State, Option<String>) {
    match tenant
        .and_then(|t| item.override_for(t))
        .and_then(|o| o.state.map(|s| (s, o.tenant.clone())))
    {
        Some((state, tenant)) => (state, Some(tenant)),
        None => (item.state, None),
    }
}

/// The reason given for the decision in force (for `tenant`, or the
/// item's): the latest close's (`done`) or dismissal's (`dismissed`) in
/// `entries` (the post's decision entries, oldest first) of the same scope
/// — the tenant's own entries when it has its own state, else the post's.
/// An open item has none; a dismissal without an entry keeps the reason on
/// the item.
pub fn decision_reason(
    item: &WorkItem,
    tenant: Option<&str>,
    entries: &[&LogEntry],
) -> Option<String> {
    let (state, own) = decided(item, tenant);
    let action = match state {
        State::Done => LogAction::Close,
        State::Dismissed => LogAction::Dismiss,
        _ => return None,
    };
    let same_scope = |e: &&&LogEntry| match (&e.scope, &own) {
        (LogScope::Post, None) => true,
        (LogScope::Tenant(t), Some(o)) => t.eq_ignore_ascii_case(o),
        _ => false,
    };
    match entries
        .iter()
        .rev()
        .filter(same_scope)
        .find(|e| e.action == action)
    {
        Some(e) => e.reason.clone(),
        None if state == State::Dismissed => match &own {
            Some(t) => item.override_for(t).and_then(|o| o.dismiss_reason.clone()),
            None => item.dismiss_reason.clone(),
        },
        None => None,
    }
}

/// The reasons of the decisions in force of `items` (for `tenant`, or each
/// item's own), by post id, read in one statement for the closed ones:
/// items without a reason are left out.
pub async fn decision_reasons<'a>(
    store: &Store,
    items: impl IntoIterator<Item = &'a WorkItem>,
    tenant: Option<&str>,
) -> Result<HashMap<String, String>, StoreError> {
    let closed: Vec<&WorkItem> = items
        .into_iter()
        .filter(|i| decided(i, tenant).0.is_closed())
        .collect();
    let ids: Vec<&str> = closed.iter().map(|i| i.message_id.as_str()).collect();
    let logged = store.decision_entries(&ids).await?;
    let mut by_post: HashMap<&str, Vec<&LogEntry>> = HashMap::new();
    for e in &logged {
        by_post
            .entry(e.post_id.as_str())
            .or_default()
            .push(&e.entry);
    }
    Ok(closed
        .into_iter()
        .filter_map(|i| {
            let entries = by_post
                .get(i.message_id.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            decision_reason(i, tenant, entries).map(|r| (i.message_id.clone(), r))
        })
        .collect())
}

/// The columns of a list of posts; a list that names the posts' tenants
/// adds `tenants` last.
pub const POST_HEADERS: &[&str] = &[
    "id",
    "title",
    "services",
    "category",
    "severity",
    "major",
    "tags",
    "start",
    "end",
    "act_by",
    "rollout_start",
    "last_modified",
    "first_seen",
    "revision",
    "state",
    "tenants_visible",
    "tenants_seen",
    "item_state",
    "assignee",
    "priority",
    "due",
    "labels",
    "decision",
    "decision_reason",
];

/// A post's row under [`POST_HEADERS`], with its work item as in force
/// (`None`: no item yet) and its decision's reason.
pub fn post_record(p: &PostSummary, item: Option<&WorkItem>, reason: Option<&str>) -> Vec<String> {
    vec![
        p.id.clone(),
        p.title.clone(),
        list(&p.services),
        p.category.clone(),
        p.severity.clone(),
        flag(p.is_major),
        list(&p.tags),
        time(p.start),
        time(p.end),
        time(p.act_by),
        time(p.rollout_start),
        time(p.last_modified),
        time(Some(p.first_seen)),
        p.revision.to_string(),
        p.state.as_str().to_string(),
        p.tenants_visible.to_string(),
        p.tenants_seen.to_string(),
        item.map(|i| i.state.as_str().to_string())
            .unwrap_or_default(),
        item.and_then(|i| i.assignee.clone()).unwrap_or_default(),
        item.map(|i| i.priority.as_str().to_string())
            .unwrap_or_default(),
        time(item.and_then(|i| i.due)),
        item.map(|i| list(&i.labels.iter().collect::<Vec<_>>()))
            .unwrap_or_default(),
        item.and_then(|i| i.decision)
            .map(|d| d.as_str().to_string())
            .unwrap_or_default(),
        reason.unwrap_or_default().to_string(),
    ]
}

/// The rows of `posts` under [`POST_HEADERS`], each with its work item as
/// in force for `tenant` (else the item's own; none when the rules have not
/// made one yet) and the reason given for its decision: two statements for
/// the whole list (the items, then their decisions' log entries).
pub async fn post_records(
    store: &Store,
    posts: &[&PostSummary],
    tenant: Option<&str>,
) -> Result<Vec<Vec<String>>, StoreError> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    // the items of these posts, whoever sees them: the posts were the
    // caller's to list
    let rows = store
        .work_items(&changedesk_store::ItemFilter {
            post_ids: Some(posts.iter().map(|p| p.id.clone()).collect()),
            names_for_exceptions_only: true,
            ..Default::default()
        })
        .await?;
    let reasons = decision_reasons(store, rows.iter().map(|r| &r.stored.item), tenant).await?;
    let items: HashMap<&str, &WorkItem> = rows
        .iter()
        .map(|r| (r.stored.item.message_id.as_str(), &r.stored.item))
        .collect();
    Ok(posts
        .iter()
        .map(|p| {
            let in_force = items.get(p.id.as_str()).map(|i| match tenant {
                Some(t) => i.for_tenant(t),
                None => (*i).clone(),
            });
            post_record(p, in_force.as_ref(), reasons.get(&p.id).map(String::as_str))
        })
        .collect())
}

/// The columns of a list of work items.
pub const ITEM_HEADERS: &[&str] = &[
    "post_id",
    "title",
    "services",
    "state",
    "decision",
    "decision_reason",
    "assignee",
    "priority",
    "due",
    "act_by",
    "deadline",
    "deadline_since",
    "changed_since_triage",
    "changed_fields",
    "labels",
    "requires_change_request",
    "requires_communication",
    "created_at",
    "closed_at",
    "tenant",
    "applicable",
    "tenant_count",
    "tenants",
];

/// What an item's row says beyond the item and its post.
pub struct ItemContext<'a> {
    /// The tenant the list is for (its values are in force in the item).
    pub tenant: Option<&'a str>,
    /// With a tenant: whether the post applies to it.
    pub applicable: Option<bool>,
    /// The post's tenants as the list names them.
    pub tenants: String,
    pub reason: Option<&'a str>,
    pub now: Timestamp,
}

/// A work item's row under [`ITEM_HEADERS`]: `item` as in force (for the
/// list's tenant, or the item's own), its post from `row`.
pub fn item_record(row: &ItemRow, item: &WorkItem, cx: &ItemContext<'_>) -> Vec<String> {
    let deadline = deadline_status(item, &row.dates(), cx.now);
    let since = match deadline {
        changedesk_core::triage::DeadlineStatus::Overdue { since }
        | changedesk_core::triage::DeadlineStatus::Missed { since } => Some(since),
        _ => None,
    };
    vec![
        item.message_id.clone(),
        row.title.clone(),
        list(&row.services),
        item.state.as_str().to_string(),
        item.decision
            .map(|d| d.as_str().to_string())
            .unwrap_or_default(),
        cx.reason.unwrap_or_default().to_string(),
        item.assignee.clone().unwrap_or_default(),
        item.priority.as_str().to_string(),
        time(item.due),
        time(row.act_by),
        deadline.kind().as_str().to_string(),
        time(since),
        flag(changed_since_triage(item)),
        list(&item.changed_since_triage),
        list(&item.labels.iter().collect::<Vec<_>>()),
        flag(item.requires_change_request),
        flag(item.requires_communication),
        time(Some(item.created_at)),
        time(item.closed_at),
        cx.tenant.unwrap_or_default().to_string(),
        cx.applicable.map(flag).unwrap_or_default(),
        row.tenant_count.to_string(),
        cx.tenants.clone(),
    ]
}

/// A file name for an export of `what` made at `now`
/// (`changedesk-posts-2026-05-14.csv`), saying when it holds only the
/// first `cut` rows.
pub fn file_name(what: &str, now: Timestamp, cut: Option<usize>) -> String {
    match cut {
        Some(n) => format!("changedesk-{what}-{}-first-{n}.csv", now.date()),
        None => format!("changedesk-{what}-{}.csv", now.date()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    }

    #[test]
    fn cells_that_a_spreadsheet_would_run_are_quoted_as_text() {
        for (raw, safe) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("Teams – a necessity", "Teams – a necessity"),
            ("", ""),
            ("a=b", "a=b"),
        ] {
            assert_eq!(cell(raw), safe, "{raw:?}");
        }
    }

    #[test]
    fn records_round_trip_through_a_csv_reader() {
        let rows = vec![
            vec!["MC1", "Quotes \"and\", commas", "=1+1"],
            vec!["MC2", "line\nbreak", "ünïcödé – ok"],
        ];
        let bytes = write(&["id", "title", "note"], rows).unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("id,title,note\r\n"), "{text}");
        assert_eq!(
            parse(&bytes),
            vec![
                vec!["id", "title", "note"],
                vec!["MC1", "Quotes \"and\", commas", "'=1+1"],
                vec!["MC2", "line\nbreak", "ünïcödé – ok"],
            ]
        );
        // no rows: the header alone
        let empty = write(&["id"], Vec::<Vec<String>>::new()).unwrap();
        assert_eq!(empty, b"id\r\n");
    }

    #[test]
    fn instants_are_written_to_the_second() {
        let t = Timestamp::parse("2026-05-14T09:30:00.123456Z").unwrap();
        assert_eq!(time(Some(t)), "2026-05-14T09:30:00Z");
        assert_eq!(time(None), "");
    }

    #[test]
    fn the_reason_is_the_latest_decision_of_the_scope_in_force() {
        use changedesk_core::triage::{Actor, Decision, TenantOverride};
        let at = Timestamp::parse("2026-03-01T00:00:00Z").unwrap();
        let close = |reason: &str, tenant: Option<&str>| {
            let e = LogEntry::new(at, &Actor::Person("alice".into()), LogAction::Close)
                .change("decision", None::<String>, Some("actioned"))
                .because(Some(reason));
            match tenant {
                Some(t) => e.for_tenant(t),
                None => e,
            }
        };
        let mut item = WorkItem::new("MC1", at);
        let entries = [
            close("first", None),
            close("alpha's own", Some("alpha")),
            close("second", None),
        ];
        let refs: Vec<&LogEntry> = entries.iter().collect();
        // open: no reason, whatever the log says
        assert_eq!(decision_reason(&item, None, &refs), None);
        item.state = State::Done;
        item.decision = Some(Decision::Actioned);
        assert_eq!(
            decision_reason(&item, None, &refs).as_deref(),
            Some("second")
        );
        // beta follows the item; alpha has its own state
        assert_eq!(
            decision_reason(&item, Some("beta"), &refs).as_deref(),
            Some("second")
        );
        let mut own = TenantOverride::empty("alpha");
        own.state = Some(State::Done);
        own.decision = Some(Decision::Deferred);
        item.overrides = vec![own];
        assert_eq!(
            decision_reason(&item, Some("alpha"), &refs).as_deref(),
            Some("alpha's own")
        );
        // a dismissal logged nowhere keeps the reason on the item
        item.state = State::Dismissed;
        item.dismiss_reason = Some("not for us".into());
        assert_eq!(
            decision_reason(&item, None, &refs).as_deref(),
            Some("not for us")
        );
    }
}
