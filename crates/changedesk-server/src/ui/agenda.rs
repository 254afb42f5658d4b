//! The weekly review agenda (`/agenda?since=7d`): the document
//! `changedesk agenda` writes, built by the same code (the server's
//! `triage::agenda_for`, core's `Agenda::render` for its sections, columns
//! and wording), for the tenants in the caller's scope, as a page with a
//! print style; and as Markdown (`/agenda.md`) for meeting notes.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use changedesk_core::duration::parse_duration;
use changedesk_core::triage::{Agenda, AgendaWriter, NOTHING, OwnershipMap};
use serde::Deserialize;

use super::view::{self, Layout};
use super::{SignedIn, UiError, UiResult, html};
use crate::http::auth::Need;
use crate::http::{ApiError, AppState};
use crate::triage::{TriageError, agenda_for};

/// The period the agenda reviews unless asked otherwise.
const DEFAULT_SINCE: &str = "7d";
/// The longest period it may review.
const MAX_DAYS: i64 = 5 * 366;
/// The periods offered.
const PERIODS: &[(&str, &str)] = &[
    ("7d", "the last 7 days"),
    ("14d", "the last 14 days"),
    ("30d", "the last 30 days"),
    ("90d", "the last 90 days"),
];

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AgendaParams {
    /// How far back: `7d`, `2w`…
    #[serde(default)]
    since: String,
    /// `1`: this week's review was just recorded (a fixed notice).
    #[serde(default)]
    held: String,
}

/// A piece of the agenda document, as core lays it out.
pub(crate) enum Block {
    /// The summary table: (section, items).
    Summary(Vec<(String, usize)>),
    /// A section heading: (heading, count, anchor).
    Section(String, usize, String),
    /// A heading within a section (a workload): (heading, count).
    Subsection(String, usize),
    /// An empty section.
    Nothing,
    /// A table: (column heads, rows of (text, link to the post when the
    /// cell is a post id)).
    Table(Vec<String>, Vec<Vec<(String, Option<String>)>>),
    /// Rows of the section left out of the page: (how many, the Markdown
    /// export that has them all).
    More(usize),
}

/// The most rows a section of the agenda page shows; the Markdown export
/// (`/agenda.md`) has every row. At an MSP's thousands of items, the whole
/// agenda is megabytes of HTML.
pub(crate) const SECTION_ROWS: usize = 50;

/// Collects the agenda's blocks as core's `Agenda::render` writes them.
/// Cells stay plain text: the template escapes them.
struct Collector<'a> {
    title: &'a mut String,
    meta: &'a mut String,
    blocks: &'a mut Vec<Block>,
    /// Rows the current section may still show.
    budget: usize,
    /// Rows of the current section left out.
    left_out: usize,
}

impl Collector<'_> {
    /// Ends a section: says how many of its rows were left out.
    fn end_section(&mut self) {
        if self.left_out > 0 {
            self.blocks.push(Block::More(self.left_out));
        }
        self.left_out = 0;
        self.budget = SECTION_ROWS;
    }
}

impl AgendaWriter for Collector<'_> {
    const MAJOR_MARK: &'static str = " (major)";

    fn text(s: &str) -> String {
        match s.trim() {
            "" => "—".to_string(),
            t => t.to_string(),
        }
    }

    fn begin(&mut self, title: &str, meta: &str) {
        *self.title = title.to_string();
        *self.meta = meta.to_string();
    }

    fn summary(&mut self, rows: &[(&str, usize)]) {
        self.blocks.push(Block::Summary(
            rows.iter().map(|(s, n)| (s.to_string(), *n)).collect(),
        ));
    }

    fn section(&mut self, heading: &str, count: usize) {
        self.end_section();
        let anchor: String = heading
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        self.blocks.push(Block::Section(
            heading.to_string(),
            count,
            format!("s-{anchor}"),
        ));
    }

    fn subsection(&mut self, heading: &str, count: usize) {
        if self.budget == 0 {
            return;
        }
        self.blocks
            .push(Block::Subsection(heading.to_string(), count));
    }

    fn nothing(&mut self) {
        self.blocks.push(Block::Nothing);
    }

    fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) {
        if rows.is_empty() {
            self.nothing();
            return;
        }
        let shown = rows.len().min(self.budget);
        self.left_out += rows.len() - shown;
        self.budget -= shown;
        if shown == 0 {
            return;
        }
        let post = head.iter().position(|h| *h == "Post");
        let rows = rows
            .into_iter()
            .take(shown)
            .map(|r| {
                r.into_iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let link = (Some(i) == post && c != "—")
                            .then(|| format!("/posts/{}", view::encode(&c)));
                        (c, link)
                    })
                    .collect()
            })
            .collect();
        self.blocks.push(Block::Table(
            head.iter().map(|h| h.to_string()).collect(),
            rows,
        ));
    }

    fn finish(mut self) -> String {
        self.end_section();
        String::new()
    }
}

#[derive(Template)]
#[template(path = "agenda.html")]
struct AgendaPage {
    layout: Layout,
    title: String,
    meta: String,
    since: String,
    periods: Vec<(String, String)>,
    blocks: Vec<Block>,
    nothing: &'static str,
    /// The tenants the agenda is limited to, for a scoped user.
    scope: Option<String>,
    markdown: String,
    /// This week's review: its Monday, whether it was recorded as held, how
    /// many of the last 13 weeks were, and whether the caller may record it.
    review_week: String,
    review_held: bool,
    reviews_held: usize,
    can_record: bool,
    notice: Option<String>,
}

/// The agenda for `user` over the period `since` names.
async fn build(state: &AppState, user: &SignedIn, since: &str) -> UiResult<Agenda> {
    let period = parse_duration(since).map_err(|e| {
        UiError::bad_request(format!("since: {e} (a period such as 7d, 2w or 30d)"))
    })?;
    if period.whole_days() > MAX_DAYS {
        return Err(UiError::bad_request(format!(
            "since: the agenda reviews at most {MAX_DAYS} days"
        )));
    }
    let now = state.now();
    let from = now.saturating_add(-period);
    let ownership = OwnershipMap {
        entries: state.store.ownership().await?,
    };
    agenda_for(&state.store, &ownership, now, from, &user.caller.tenants)
        .await
        .map_err(|e| match e {
            TriageError::Store(e) => e.into(),
            e => ApiError::internal(&e).into(),
        })
}

fn since_of(p: &AgendaParams) -> String {
    match p.since.trim() {
        "" => DEFAULT_SINCE.to_string(),
        s => s.to_string(),
    }
}

/// The agenda's title, meta line and blocks, as core's `Agenda::render`
/// lays them out, each section cut at [`SECTION_ROWS`] rows.
fn laid_out(agenda: &Agenda) -> (String, String, Vec<Block>) {
    let (mut title, mut meta, mut blocks) = (String::new(), String::new(), Vec::new());
    agenda.render(Collector {
        title: &mut title,
        meta: &mut meta,
        blocks: &mut blocks,
        budget: SECTION_ROWS,
        left_out: 0,
    });
    (title, meta, blocks)
}

/// `GET /agenda`.
pub(crate) async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    Query(p): Query<AgendaParams>,
) -> UiResult<Response> {
    let since = since_of(&p);
    let agenda = build(&state, &user, &since).await?;
    let (title, meta, blocks) = laid_out(&agenda);
    let mut periods: Vec<(String, String)> = PERIODS
        .iter()
        .map(|(v, l)| (v.to_string(), l.to_string()))
        .collect();
    if !periods.iter().any(|(v, _)| *v == since) {
        periods.push((since.clone(), format!("since {}", agenda.since.date())));
    }
    let scope = (!user.caller.unrestricted()).then(|| {
        user.caller
            .tenants
            .names()
            .map(|n| n.iter().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    });
    let reviews = crate::http::routes::reviews::held(&state, &user.caller, "", 13).await?;
    let review_week = changedesk_core::timeline::iso(crate::http::routes::reviews::monday_of(
        state.now().as_datetime().date(),
    ));
    let can_record = user.caller.require(Need::TriageAny).is_ok() && user.caller.unrestricted();
    html(&AgendaPage {
        layout: user.layout(title.clone(), "agenda"),
        review_held: reviews.held.contains(&review_week),
        reviews_held: reviews.held.len(),
        review_week,
        can_record,
        notice: (p.held.trim() == "1")
            .then(|| "This week's review is recorded as held.".to_string()),
        title,
        meta,
        markdown: format!(
            "/agenda.md{}",
            view::query_string([("since", since.as_str())])
        ),
        since,
        periods,
        blocks,
        nothing: NOTHING,
        scope,
    })
}

/// `GET /agenda.md`: the same agenda as a Markdown file.
pub(crate) async fn markdown(
    State(state): State<AppState>,
    user: SignedIn,
    Query(p): Query<AgendaParams>,
) -> UiResult<Response> {
    let agenda = build(&state, &user, &since_of(&p)).await?;
    let name = format!(
        "attachment; filename=\"change-review-{}.md\"",
        agenda.generated_at.date()
    );
    let disposition =
        HeaderValue::from_str(&name).unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/markdown; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        agenda.to_markdown(),
    )
        .into_response())
}

/// `POST /agenda/held`: records this week's review as held (the
/// organisation's), then back to the agenda.
pub(crate) async fn record_held(
    State(state): State<AppState>,
    form: super::UiForm,
) -> UiResult<Response> {
    let req = crate::http::routes::reviews::ReviewRequest {
        note: Some(form.get("note").to_string()),
        ..Default::default()
    };
    crate::http::routes::reviews::record(&state, &form.user.caller, &req).await?;
    let since = form.get("since");
    let since = if since.is_empty() {
        DEFAULT_SINCE
    } else {
        since
    };
    Ok(axum::response::Redirect::to(&format!(
        "/agenda{}",
        view::query_string([("since", since), ("held", "1")])
    ))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use changedesk_core::Timestamp;
    use changedesk_core::graph::{Category, Severity};
    use changedesk_core::triage::{AgendaPost, WorkItem};

    #[test]
    fn a_section_shows_fifty_rows_and_says_how_many_more_the_export_has() {
        let now = Timestamp::parse("2026-03-10T00:00:00Z").unwrap();
        let posts: Vec<AgendaPost> = (0..130)
            .map(|i| {
                let id = format!("MC{}", 1000 + i);
                AgendaPost {
                    item: WorkItem::new(&id, now),
                    id,
                    title: format!("Post {i}"),
                    // two workloads: the budget spans the section's subsections
                    services: vec![
                        if i % 2 == 0 {
                            "Exchange Online"
                        } else {
                            "Microsoft Teams"
                        }
                        .into(),
                    ],
                    category: Category::PlanForChange,
                    severity: Severity::Normal,
                    major: false,
                    act_by: None,
                    start: None,
                    first_seen: now,
                    owner: None,
                    tenants: Vec::new(),
                    tenant_count: 900,
                    counted: Vec::new(),
                }
            })
            .collect();
        let agenda = Agenda::build(&posts, &[], now, now);
        let full = agenda.to_markdown();
        assert!(full.contains("MC1129"), "the export has every row");
        let (_, _, blocks) = laid_out(&agenda);
        let rows: usize = blocks
            .iter()
            .map(|b| match b {
                Block::Table(_, rows) => rows.len(),
                _ => 0,
            })
            .sum();
        let more: Vec<usize> = blocks
            .iter()
            .filter_map(|b| match b {
                Block::More(n) => Some(*n),
                _ => None,
            })
            .collect();
        // each section listing the 130 posts shows 50 and says 80 more
        assert!(!more.is_empty());
        assert!(more.iter().all(|n| *n == 80), "{more:?}");
        assert_eq!(rows, SECTION_ROWS * more.len());
        // the tenants are counted, not named
        assert!(full.contains("| 900 |"), "{full}");
    }
}
