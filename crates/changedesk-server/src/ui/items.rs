//! Work items: the list (`/items`: awaiting triage, my items, changed since
//! triage, overdue and missed; every page of it as a CSV file with
//! `format=csv`), the board (`/board`: by state and owner), and bulk triage
//! of a selection from the inbox (`POST /items/bulk`).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use changedesk_core::triage::{
    Action, DeadlineStatus, Decision, State as ItemState, changed_since_triage, deadline_status,
};
use changedesk_store::{Deadline, DeadlineFilter, ItemFilter, ItemRow};
use serde::Deserialize;

use super::view::{self, Layout};
use super::{SignedIn, UiError, UiForm, UiResult, html};
use crate::export;
use crate::http::AppState;
use crate::http::routes::items::{self as api_items, ItemParams};
use crate::http::routes::posts::{Csv, csv_answer, page_as_csv};
use crate::http::tenant_cover::Groups;

/// Cards per board column.
const CARDS: usize = 40;
/// Items per page of `/items`.
const ITEMS_PAGE: i64 = 50;
/// Posts one bulk action may change.
const MAX_BULK: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParams {
    /// States, comma-separated, or `open` / `closed`.
    #[serde(default)]
    state: String,
    /// An owner's name, or `me`.
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    tenant: String,
    /// `true`: only items changed since triage.
    #[serde(default)]
    changed: String,
    /// `overdue`, `missed`, or `late` (either).
    #[serde(default)]
    deadline: String,
    /// The page, from 1.
    #[serde(default)]
    page: String,
    /// `csv`: every item of the list (not only the page) as a CSV file.
    #[serde(default)]
    format: String,
}

impl ListParams {
    /// The list's query string with `page` set to `page` (the first page
    /// without one).
    fn page_link(&self, page: i64) -> String {
        let page = if page > 1 {
            page.to_string()
        } else {
            String::new()
        };
        self.link(&[("page", page.as_str())])
    }

    /// The list as a CSV file: every page.
    fn csv_link(&self) -> String {
        self.link(&[("format", "csv")])
    }

    /// The list's URL with `extra` parameters.
    fn link(&self, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("state", self.state.as_str()),
            ("assignee", self.assignee.as_str()),
            ("tenant", self.tenant.as_str()),
            ("changed", self.changed.as_str()),
            ("deadline", self.deadline.as_str()),
        ];
        pairs.extend_from_slice(extra);
        format!("/items{}", view::query_string(pairs))
    }

    /// Whether the list is asked as a CSV file (`format=csv`).
    fn csv(&self) -> UiResult<bool> {
        Ok(page_as_csv(&self.format)?)
    }
}

pub(crate) struct Card {
    id: String,
    title: String,
    state: &'static str,
    assignee: String,
    priority: String,
    due: String,
    act_by: String,
    deadline: String,
    changed: bool,
    tenants: String,
    /// Where the post's tenants stand when not all alike: "done for 812 ·
    /// open for 3".
    standing: String,
}

/// A list's card of `r`: with `tenant`, what is in force for that tenant;
/// otherwise the item's own, and where its tenants stand when they differ.
fn card(
    r: &ItemRow,
    groups: &Groups,
    now: changedesk_core::Timestamp,
    tenant: Option<&str>,
) -> Card {
    let own;
    let item = match tenant {
        Some(t) => {
            own = r.stored.item.for_tenant(t);
            &own
        }
        None => &r.stored.item,
    };
    let summary = r
        .stored
        .item
        .tenant_summary_counted(r.tenants.iter().map(String::as_str), r.unnamed());
    let standing = if tenant.is_none() && summary.is_mixed() {
        summary.describe()
    } else {
        String::new()
    };
    let deadline = match deadline_status(item, &r.dates(), now) {
        DeadlineStatus::Overdue { since } => format!("overdue since {}", since.date()),
        DeadlineStatus::Missed { since } => format!("missed on {}", since.date()),
        DeadlineStatus::DueSoon(0) => "due today".to_string(),
        DeadlineStatus::DueSoon(d) => format!("due in {d} days"),
        DeadlineStatus::OnTrack => String::new(),
    };
    Card {
        id: item.message_id.clone(),
        title: r.title.clone(),
        state: view::state_label(item.state.as_str()),
        assignee: item.assignee.clone().unwrap_or_default(),
        priority: item.priority.as_str().to_string(),
        due: view::date(&item.due),
        act_by: view::date(&r.act_by),
        deadline,
        changed: changed_since_triage(item),
        tenants: groups.item_row(r).describe(),
        standing,
    }
}

#[derive(Template)]
#[template(path = "items.html")]
struct ItemsPage {
    layout: Layout,
    heading: String,
    cards: Vec<Card>,
    /// How many items match, on every page.
    total: i64,
    /// The first item's number on this page, from 1.
    first_shown: i64,
    previous: Option<String>,
    next: Option<String>,
    /// The whole list (every page) as a CSV file.
    csv: String,
    owners: Vec<String>,
    params: ListParams,
}

/// `GET /items`.
pub(crate) async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(p): Query<ListParams>,
) -> UiResult<Response> {
    let now = state.now();
    let changed = match p.changed.trim() {
        "" => None,
        "true" => Some(true),
        "false" => Some(false),
        other => {
            return Err(UiError::bad_request(format!(
                "changed `{other}` is not true or false"
            )));
        }
    };
    let deadline = p.deadline.trim();
    if !matches!(deadline, "" | "overdue" | "missed" | "late") {
        return Err(UiError::bad_request(format!(
            "deadline `{deadline}` is not one of overdue, missed, late"
        )));
    }
    let csv = p.csv()?;
    let page = match p.page.trim() {
        "" => 1,
        v => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| UiError::bad_request(format!("page `{v}` is not a page number")))?,
    };
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let filter = api_items::filter(
        &user.caller,
        &ItemParams {
            // deadlines only concern open items
            state: opt(&p.state).or_else(|| (!deadline.is_empty()).then(|| "open".to_string())),
            assignee: opt(&p.assignee),
            tenant: opt(&p.tenant),
            changed,
            ..Default::default()
        },
    )?;
    let filter = filter.map(|mut f| {
        let late = |status| DeadlineFilter { status, now };
        f.deadlines = match deadline {
            "overdue" => vec![late(Deadline::Overdue)],
            "missed" => vec![late(Deadline::Missed)],
            "late" => vec![late(Deadline::Overdue), late(Deadline::Missed)],
            _ => Vec::new(),
        };
        f
    });
    let tenant = Some(p.tenant.trim()).filter(|t| !t.is_empty());
    if csv {
        // the list, every page of it (up to the export's most)
        let csv = match filter {
            Some(f) => {
                let every = ItemFilter { limit: None, ..f };
                api_items::items_csv(&state, &user.caller, every, tenant).await?
            }
            None => Csv::new(export::ITEM_HEADERS, Vec::new(), false)?,
        };
        return Ok(csv_answer(csv, "items", now));
    }
    let groups = Groups::load(&state, &user.caller).await?;
    let (rows, total) = match filter {
        None => (Vec::new(), 0),
        Some(mut f) => {
            let total: i64 = state
                .store
                .work_item_tally(&f)
                .await?
                .iter()
                .map(|t| t.count)
                .sum();
            f.limit = Some(ITEMS_PAGE);
            f.offset = Some((page - 1).saturating_mul(ITEMS_PAGE));
            // without groups to show, a card needs its tenants' names only
            // to tell where they stand (an item with exceptions) or to name
            // a few
            f.names_for_exceptions_only = groups.is_empty();
            (api_items::rows(&state, &user.caller, &f).await?, total)
        }
    };
    let cards: Vec<Card> = rows.iter().map(|r| card(r, &groups, now, tenant)).collect();
    let first_shown = (page - 1).saturating_mul(ITEMS_PAGE) + 1;
    let previous = (page > 1).then(|| p.page_link(page - 1));
    let next = (first_shown - 1 + (cards.len() as i64) < total).then(|| p.page_link(page + 1));
    let mut heading = match deadline {
        "overdue" => "Overdue items".to_string(),
        "missed" => "Missed items".to_string(),
        "late" => "Overdue and missed items".to_string(),
        _ => "Work items".to_string(),
    };
    if p.assignee.trim().eq_ignore_ascii_case("me") {
        heading = format!("My items ({})", user.caller.name);
    } else if !p.assignee.trim().is_empty() {
        heading = format!("{heading} of {}", p.assignee.trim());
    }
    if !p.state.trim().is_empty() {
        heading = format!("{heading}: {}", p.state.trim().replace('_', " "));
    }
    if changed == Some(true) {
        heading = format!("{heading}, changed since triage");
    }
    let nav = if p.assignee.trim().eq_ignore_ascii_case("me") {
        "mine"
    } else if !deadline.is_empty() {
        "deadlines"
    } else {
        ""
    };
    let owners = state
        .store
        .owners()
        .await?
        .into_iter()
        .map(|o| o.name)
        .collect();
    html(&ItemsPage {
        layout: user.layout(heading.clone(), nav),
        heading,
        cards,
        total,
        first_shown,
        previous,
        next,
        csv: p.csv_link(),
        owners,
        params: p,
    })
}

pub(crate) struct Column {
    state: &'static str,
    key: &'static str,
    count: usize,
    cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    layout: Layout,
    columns: Vec<Column>,
    /// (owner, count per state in column order, open link).
    owners: Vec<(String, Vec<usize>)>,
    states: Vec<(&'static str, &'static str)>,
}

/// `GET /board`: items by state (the first cards of each column), and a
/// count per owner and state, all counted by the store.
pub(crate) async fn board(State(state): State<AppState>, user: SignedIn) -> UiResult<Response> {
    let now = state.now();
    let order = [
        ItemState::New,
        ItemState::Triaged,
        ItemState::InProgress,
        ItemState::Done,
        ItemState::Dismissed,
    ];
    let every: Option<ItemFilter> = api_items::filter(&user.caller, &ItemParams::default())?;
    let tally = match &every {
        Some(f) => state.store.work_item_tally(f).await?,
        None => Vec::new(),
    };
    let groups = Groups::load(&state, &user.caller).await?;
    // whether some item's tenants stand apart (then each column is counted
    // by what is in force per tenant, not by the items' own states)
    let mixed = match &every {
        Some(f) => state.store.work_items_with_exceptions(f).await? > 0,
        None => false,
    };
    // the columns are counted and filled side by side: each is a few
    // statements of its own, and the read connections answer them at once
    let column = |s: ItemState| {
        let (state, user, every, tally, groups) = (&state, &user, &every, &tally, &groups);
        async move {
            // an item stands in each column where some tenant stands: one
            // done for some tenants and open for others is in both
            let count: i64 = match every {
                Some(_) if !mixed => tally.iter().filter(|t| t.state == s).map(|t| t.count).sum(),
                Some(f) => {
                    let column = ItemFilter {
                        states: vec![s],
                        ..f.clone()
                    };
                    state
                        .store
                        .work_item_tally(&column)
                        .await?
                        .iter()
                        .map(|t| t.count)
                        .sum()
                }
                None => 0,
            };
            let cards = match every {
                Some(f) if count > 0 => {
                    let column = ItemFilter {
                        states: vec![s],
                        limit: Some(CARDS as i64),
                        // as the items page's cards
                        names_for_exceptions_only: groups.is_empty(),
                        ..f.clone()
                    };
                    api_items::rows(state, &user.caller, &column)
                        .await?
                        .iter()
                        .map(|r| card(r, groups, now, None))
                        .collect()
                }
                _ => Vec::new(),
            };
            Ok::<_, UiError>(Column {
                state: view::state_label(s.as_str()),
                key: s.as_str(),
                count: usize::try_from(count).unwrap_or(0),
                cards,
            })
        }
    };
    let columns: Vec<Column> = futures::future::try_join_all(order.map(column)).await?;
    let mut owners: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for t in &tally {
        let i = order.iter().position(|s| *s == t.state).unwrap_or(0);
        let owner = t.assignee.clone().unwrap_or_default();
        let counts = owners.entry(owner).or_insert_with(|| vec![0; order.len()]);
        if let Some(n) = counts.get_mut(i) {
            *n += usize::try_from(t.count).unwrap_or(0);
        }
    }
    html(&BoardPage {
        layout: user.layout("Board", "board"),
        columns,
        owners: owners.into_iter().collect(),
        states: order
            .iter()
            .map(|s| (s.as_str(), view::state_label(s.as_str())))
            .collect(),
    })
}

pub(crate) struct Outcome {
    id: String,
    ok: bool,
    message: String,
}

#[derive(Template)]
#[template(path = "bulk.html")]
struct BulkPage {
    layout: Layout,
    action: String,
    outcomes: Vec<Outcome>,
    done: usize,
    back: String,
}

/// "done", for a group "done for tenant group emea", and the tenants the
/// action left as they were.
fn skipped_note(act_for: &api_items::ActFor, skipped: &[api_items::SkippedDto]) -> String {
    let mut out = match act_for {
        api_items::ActFor::Group(g) => format!("done for tenant group {g}"),
        _ => "done".to_string(),
    };
    if !skipped.is_empty() {
        out.push_str(&format!(
            "; left as they were: {}",
            skipped
                .iter()
                .take(5)
                .map(|s| s.tenant.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if skipped.len() > 5 {
            out.push_str(&format!(" and {} more", skipped.len() - 5));
        }
        if let Some(first) = skipped.first() {
            out.push_str(&format!(" ({})", first.reason));
        }
    }
    out
}

/// `POST /items/bulk`: one action on each selected post, each as the API
/// would do it (who may act, the transition table, the log); then what
/// happened to each.
/// Why a bulk form cannot be done, as the list's notice names it
/// ([`bulk_error_text`]).
type BulkError = &'static str;

/// The action a bulk form asks for, or why it cannot be done.
fn bulk_action(form: &UiForm) -> Result<Action, BulkError> {
    let ids = form.all("id");
    if ids.is_empty() {
        return Err("none");
    }
    if ids.len() > MAX_BULK {
        return Err("too_many");
    }
    let reason = form.get("reason").trim().to_string();
    Ok(match form.get("action") {
        "triage" => Action::Triage,
        "start" => Action::Start,
        "dismiss" if reason.is_empty() => return Err("reason"),
        "dismiss" => Action::Dismiss { reason },
        "close_no_action" => Action::Close {
            decision: Decision::NoActionNeeded,
            reason: Some(reason).filter(|r| !r.is_empty()),
        },
        "assign" => Action::Assign {
            owner: Some(form.get("owner").trim().to_string()).filter(|o| !o.is_empty()),
        },
        "set_priority" => Action::SetPriority {
            priority: form
                .get("priority")
                .trim()
                .parse()
                .map_err(|_| "priority")?,
        },
        "set_due" => Action::SetDue {
            due: match form.get("due").trim() {
                "" => None,
                d => Some(
                    changedesk_core::Timestamp::parse(&format!("{d}T00:00:00Z"))
                        .map_err(|_| "due")?,
                ),
            },
        },
        "add_label" => match form.get("label").trim() {
            "" => return Err("label"),
            l => Action::AddLabel {
                label: l.to_string(),
            },
        },
        _ => return Err("action"),
    })
}

/// What the list says of a bulk form it could not do; `None` for a code
/// that is not one.
pub(crate) fn bulk_error_text(code: &str) -> Option<String> {
    Some(match code {
        "none" => "Select posts first (the checkboxes, or x on a row).".to_owned(),
        "too_many" => format!("Select at most {MAX_BULK} posts at a time."),
        "reason" => "Dismissing needs a reason: say why these posts are not relevant.".to_owned(),
        "priority" => format!(
            "Choose a priority ({}).",
            changedesk_core::triage::Priority::NAMES.join(", ")
        ),
        "due" => "The due date is not a date like 2026-03-31.".to_owned(),
        "label" => "Adding a label needs the label.".to_owned(),
        "action" => format!("Choose one of the actions ({}).", BULK_ACTIONS.join(", ")),
        _ => return None,
    })
}

/// The bulk actions, as the form names them.
const BULK_ACTIONS: &[&str] = &[
    "triage",
    "start",
    "dismiss",
    "close_no_action",
    "assign",
    "set_priority",
    "set_due",
    "add_label",
];

/// A bulk action's name for people, `None` for what is not one.
pub(crate) fn bulk_label(action: &str) -> Option<&'static str> {
    Some(match action {
        "triage" => "Triage",
        "start" => "Start work",
        "dismiss" => "Dismiss",
        "close_no_action" => "Close: no action needed",
        "assign" => "Assign",
        "set_priority" => "Set priority",
        "set_due" => "Set due date",
        "add_label" => "Add label",
        _ => return None,
    })
}

pub(crate) async fn bulk(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    // what is wrong with the form goes back to the list, said there
    let action = match bulk_action(&form) {
        Ok(a) => a,
        Err(code) => {
            let back = view::safe_next(Some(form.get("back")));
            let sep = if back.contains('?') { '&' } else { '?' };
            return Ok(
                axum::response::Redirect::to(&format!("{back}{sep}bulk_error={code}"))
                    .into_response(),
            );
        }
    };
    let ids = form.all("id");
    let label = bulk_label(form.get("action")).unwrap_or("");
    let act_for = match form.get("group").trim() {
        "" => api_items::ActFor::All,
        g => api_items::ActFor::Group(g.to_string()),
    };
    let mut outcomes = Vec::new();
    for id in ids {
        let r = api_items::act(
            &state,
            &form.user.caller,
            id,
            None,
            action.clone(),
            &act_for,
        )
        .await;
        outcomes.push(match r {
            Ok(skipped) => Outcome {
                id: id.to_string(),
                ok: true,
                message: skipped_note(&act_for, &skipped),
            },
            Err(e) => Outcome {
                id: id.to_string(),
                ok: false,
                message: e.detail,
            },
        });
    }
    let done = outcomes.iter().filter(|o| o.ok).count();
    // all done: back to the same list, which says so; else the outcomes
    if done == outcomes.len() {
        let back = view::safe_next(Some(form.get("back")));
        let sep = if back.contains('?') { '&' } else { '?' };
        let to = format!(
            "{back}{sep}bulk={}&done={done}&of={}",
            form.get("action"),
            outcomes.len()
        );
        return Ok(axum::response::Redirect::to(&to).into_response());
    }
    let status = if done == 0 {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let page = BulkPage {
        layout: form.user.layout("Bulk triage", "inbox"),
        action: label.to_string(),
        outcomes,
        done,
        back: view::safe_next(Some(form.get("back"))),
    };
    Ok((status, axum::response::Html(page.render()?)).into_response())
}

#[derive(Template)]
#[template(path = "baseline.html")]
struct BaselinePage {
    layout: Layout,
    summary: crate::triage::BaselineSummary,
    accepted: Option<AcceptedQuery>,
}

/// What `POST /baseline/accept` did, carried to the page it redirects to.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AcceptedQuery {
    closed: Option<usize>,
    #[serde(default)]
    kept: usize,
    #[serde(default)]
    skipped: usize,
}

/// `GET /baseline`: what the first syncs brought that awaits triage, and
/// accepting it (change managers and admins without a tenant limit).
pub(crate) async fn baseline(
    State(state): State<AppState>,
    user: SignedIn,
    Query(accepted): Query<AcceptedQuery>,
) -> UiResult<Response> {
    let summary = api_items::baseline_for(&state, &user.caller).await?;
    html(&BaselinePage {
        layout: user.layout("Baseline", "inbox"),
        summary,
        accepted: accepted.closed.is_some().then_some(accepted),
    })
}

/// `POST /baseline/accept`: accepts the baseline, then shows what it did
/// and what is left.
pub(crate) async fn accept_baseline(
    State(state): State<AppState>,
    form: UiForm,
) -> UiResult<Response> {
    let done = api_items::accept_baseline_as(&state, &form.user.caller).await?;
    Ok(axum::response::Redirect::to(&format!(
        "/baseline?closed={}&kept={}&skipped={}",
        done.closed.len(),
        done.kept,
        done.skipped
    ))
    .into_response())
}
