//! The post page (`/posts/{id}`): the sanitised body with Microsoft's
//! bracketed section headings styled, the summary, the dates and the
//! rollout (each status with its tenants, counted when many), the tenants
//! in scope that see it (how many, their groups, and one page of them, 50
//! a page, searched by name), roadmap links, the revisions and a diff
//! between two of them, the work item with its triage panel (only for a
//! caller who may act on it) and the decision log.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use changedesk_core::graph::TenantView;
use changedesk_core::triage::{Action, Decision, Priority};
use serde::Deserialize;

use super::view::{self, Layout};
use super::{SignedIn, UiError, UiForm, UiResult};
use crate::http::AppState;
use crate::http::routes::items::{self, ItemDetailDto};
use crate::http::routes::posts::{revision_pair, scope_of};
use crate::http::sanitize;
use crate::http::tenant_cover::{self, FEW_TENANTS, GroupCoverDto, Groups};

#[derive(Debug, Default, Deserialize)]
pub(crate) struct DiffQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// Only tenants whose name contains this.
    #[serde(default)]
    tenant_q: String,
    /// The page of the tenants, from 1.
    #[serde(default)]
    tenant_page: String,
    /// Whom the triage forms act for: empty (every tenant), tenant names
    /// (comma-separated) or `group:NAME`.
    #[serde(default, rename = "for")]
    act_for: String,
    /// `all`: the whole decision log, not only its newest entries.
    #[serde(default)]
    log: String,
}

/// Which of the post's tenants the page lists.
#[derive(Debug, Default)]
struct TenantList {
    q: String,
    page: usize,
    /// The triage forms' `for` (see [`DiffQuery`]).
    act_for: String,
    /// Every entry of the decision log, not only the newest.
    whole_log: bool,
}

/// Whom a form's `for` acts for: empty (every tenant), `group:NAME`, or
/// tenant names separated by commas or spaces.
pub(crate) fn act_for_of(s: &str) -> items::ActFor {
    let s = s.trim();
    if s.is_empty() {
        return items::ActFor::All;
    }
    if let Some(g) = s.strip_prefix("group:") {
        return items::ActFor::Group(g.trim().to_string());
    }
    items::ActFor::Tenants(
        s.split([',', ' '])
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// A tenant's exception, as the post page lists it.
pub(crate) struct ExceptionRow {
    tenant: String,
    standing: String,
    assignee: String,
    due: String,
    note: String,
    href: String,
}

/// The newest entries of the decision log the post page shows (`?log=all`:
/// every one).
const LOG_SHOWN: usize = 100;

/// At most this many tenant exceptions, the post page lists (the tenant
/// search finds the others; the API lists all).
const EXCEPTIONS_SHOWN: usize = 50;

pub(crate) struct DateRow {
    label: &'static str,
    date: String,
    relative: String,
}

/// A rollout phase read from the body (`changedesk_core::timeline`).
pub(crate) struct PhaseRow {
    /// `General availability · GCC`.
    label: String,
    /// `mid-May 2026 → late May 2026`.
    when: String,
    /// The sentence it was read from.
    text: String,
}

pub(crate) struct TenantRow {
    name: String,
    visible: bool,
    first_seen: String,
    last_seen: String,
    gone_at: String,
    details: Vec<(String, String)>,
}

pub(crate) struct RolloutRow {
    /// The tenants with this status: named when few, else counted.
    tenants: String,
    roadmap_id: String,
    platform: String,
    status: String,
    updated: String,
}

pub(crate) struct RevisionRow {
    revision: i64,
    modified: String,
    recorded: String,
    tenant: String,
    changes: Vec<String>,
}

pub(crate) struct FieldRow {
    field: String,
    old: String,
    new: String,
    summary: String,
}

pub(crate) struct DiffView {
    from: i64,
    to: i64,
    fields: Vec<FieldRow>,
    /// The lines, `ins`, `del`, `hunk` or `` for context, the changed
    /// words of a changed line marked.
    lines: Vec<changedesk_core::diff::DiffLine>,
}

pub(crate) struct LogRow {
    at: String,
    actor: String,
    text: String,
    reason: String,
}

/// What the triage panel offers.
pub(crate) struct Panel {
    owners: Vec<(String, String)>,
    priorities: &'static [&'static str],
    decisions: &'static [&'static str],
    allowed: Vec<String>,
    due: String,
    /// The forms' `for`: whom they act for (empty: every tenant).
    act_for: String,
    /// For people: "every tenant", "tenant group emea", "contoso, fabrikam".
    act_for_label: String,
    /// Actions for some tenants only: the whole post's forms (priority,
    /// acknowledging changes) are not offered.
    some_tenants: bool,
    /// What the "act for" field suggests: `group:NAME` of each group.
    group_choices: Vec<String>,
    /// The triage form's owner: the item's, else the one the ownership map
    /// suggests for the post's workload (empty: nobody).
    owner: String,
    /// Whether `owner` is a suggestion (the item has none yet).
    owner_suggested: bool,
    /// The item's priority now.
    priority: String,
    /// What the triage form does to the state by default: `triage` for a
    /// new item, else `keep`.
    outcome: &'static str,
}

impl Panel {
    fn allows(&self, action: &str) -> bool {
        // for some tenants, each may stand elsewhere: the server says
        // which it left as they were
        self.allowed.iter().any(|a| a == action)
            || (!self.act_for.is_empty()
                && matches!(action, "triage" | "start" | "close" | "dismiss" | "reopen"))
    }
}

#[derive(Template)]
#[template(path = "post.html")]
struct PostPage {
    layout: Layout,
    id: String,
    title: String,
    category: String,
    severity: String,
    major: bool,
    expired: bool,
    services: String,
    tags: String,
    revision: i64,
    summary: Option<String>,
    body: String,
    dates: Vec<DateRow>,
    /// The rollout phases the body gives (issue 20).
    phases: Vec<PhaseRow>,
    /// The posts awaiting triage before and after this one, in the inbox's
    /// order (`k` and `j`; "save and next" goes to `next_post`).
    prev_post: Option<String>,
    next_post: Option<String>,
    /// The post in the Microsoft 365 admin center's Message center.
    admin_url: String,
    /// What Microsoft says the dates were before it moved them.
    previously: Vec<String>,
    rollout: Vec<RolloutRow>,
    /// How many tenants in scope see or saw it.
    tenant_count: usize,
    tenant_groups: Vec<GroupCoverDto>,
    /// One page of them (those matching `tenant_q`).
    tenants: Vec<TenantRow>,
    tenant_q: String,
    tenant_matches: usize,
    /// The number of the first tenant listed, from 1.
    tenant_first: usize,
    tenants_previous: Option<String>,
    tenants_next: Option<String>,
    /// Whether there are enough tenants to search and page them.
    many_tenants: bool,
    roadmap: Vec<(String, String)>,
    links: Vec<(String, String)>,
    revisions: Vec<RevisionRow>,
    diff: Option<DiffView>,
    diff_error: Option<String>,
    item: Option<ItemDetailDto>,
    item_state: &'static str,
    /// The tenant exceptions (at most [`EXCEPTIONS_SHOWN`], those matching
    /// the tenant search).
    exceptions: Vec<ExceptionRow>,
    /// Older decision log entries not shown.
    log_more: usize,
    log: Vec<LogRow>,
    panel: Option<Panel>,
    notice: Option<String>,
    /// The tickets raised for it (those the caller may see).
    tickets: Vec<crate::http::routes::changes::TicketDto>,
    /// The connectors the caller may ask to raise a change (empty: no form).
    connectors: Vec<String>,
    /// Its communications the caller sees (issue 21): id, state, subject,
    /// measure.
    comms: Vec<(i64, &'static str, String, String)>,
    /// The caller may ask for a communication.
    can_request_comms: bool,
    /// Its pilot tasks (issue 21): group, first day, finding (empty: open).
    pilots: Vec<(String, String, String)>,
    /// The item's version when the caller may record a pilot finding.
    pilot_version: Option<i64>,
}

/// Microsoft's bracketed section headings (`[When this will happen:]`),
/// alone in a text run of the sanitised body, become styled headings.
///
/// Works on the sanitiser's output: tags are well formed there, attribute
/// values are double-quoted with `"` escaped, and text has `<` and `&`
/// escaped, so a text run is exactly what lies outside `<…>` (with quotes
/// honoured inside a tag). The heading's text is kept as it was (already
/// escaped); only a `<span>` is added around it.
fn style_headings(clean: &str) -> String {
    super::view::map_text_runs(clean, |text, out| {
        let t = text.trim();
        let inner = t.strip_prefix('[').and_then(|t| t.strip_suffix(']'));
        let start = text.find('[').unwrap_or(0);
        let end = text.rfind(']').map_or(text.len(), |i| i + 1);
        if let Some(inner) = inner
            && !inner.is_empty()
            && t.len() <= 120
            && !inner.contains(['[', ']'])
            && let (Some(before), Some(heading), Some(after)) =
                (text.get(..start), text.get(start..end), text.get(end..))
        {
            out.push_str(before);
            out.push_str("<span class=\"mc-h\" role=\"heading\" aria-level=\"3\">");
            out.push_str(heading);
            out.push_str("</span>");
            out.push_str(after);
        } else {
            out.push_str(text);
        }
    })
}

/// The lines of core's unified diff, classed for display.
fn parse_revision(name: &str, s: &str) -> UiResult<Option<i64>> {
    match s.trim() {
        "" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| UiError::bad_request(format!("{name} `{v}` is not a revision number"))),
    }
}

/// `GET /posts/{id}`.
pub(crate) async fn post_page(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(d): Query<DiffQuery>,
) -> UiResult<Response> {
    let from = parse_revision("from", &d.from)?;
    let to = parse_revision("to", &d.to)?;
    let list = TenantList {
        q: d.tenant_q.trim().to_string(),
        page: tenant_cover::page_number(&d.tenant_page)?,
        act_for: d.act_for.trim().to_string(),
        whole_log: d.log.trim() == "all",
    };
    render(&state, &user, &id, (from, to), &list, None, StatusCode::OK).await
}

/// The link to page `page` of the tenants of post `id` matching `q`.
fn tenants_link(id: &str, q: &str, page: usize) -> String {
    let page = if page > 1 {
        page.to_string()
    } else {
        String::new()
    };
    format!(
        "/posts/{}{}#tenants",
        view::encode(id),
        view::query_string([("tenant_q", q), ("tenant_page", page.as_str())])
    )
}

async fn render(
    state: &AppState,
    user: &SignedIn,
    id: &str,
    (from, to): (Option<i64>, Option<i64>),
    list: &TenantList,
    notice: Option<String>,
    status: StatusCode,
) -> UiResult<Response> {
    let caller = &user.caller;
    let now = state.now();
    let mut d = state
        .store
        .get_message_scoped(id, &scope_of(caller))
        .await?;
    d.tenants.sort_by(|a, b| a.name.cmp(&b.name));
    let c = &d.content;
    let id = d.summary.id.clone();

    let views: Vec<(String, TenantView)> = d
        .tenants
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                TenantView {
                    details: t.details.clone(),
                },
            )
        })
        .collect();
    let summary = views
        .iter()
        .find_map(|(_, v)| v.summary().map(str::to_string));
    let mut roadmap: Vec<(String, String)> = Vec::new();
    let mut links: Vec<(String, String)> = Vec::new();
    // (feature, platform, status, updated) → the tenants with it
    let mut rollout: BTreeMap<(String, String, String, String), Vec<&str>> = BTreeMap::new();
    for (tenant, v) in &views {
        for r in v.roadmap_ids() {
            if r.chars().all(|c| c.is_ascii_digit()) && !roadmap.iter().any(|(x, _)| *x == r) {
                let url = format!(
                    "https://www.microsoft.com/microsoft-365/roadmap?filters=&searchterms={r}"
                );
                roadmap.push((r, url));
            }
        }
        for (name, value) in v.links() {
            if let Some(url) = view::safe_link(&value)
                && !links.iter().any(|(_, u)| *u == url)
            {
                links.push((name, url));
            }
        }
        // a tenant whose FeatureStatusJson does not decode shows none
        for e in v.rollout().unwrap_or_default() {
            rollout
                .entry((
                    e.roadmap_id,
                    e.platform,
                    e.status.as_str().to_string(),
                    view::date(&e.last_update),
                ))
                .or_default()
                .push(tenant.as_str());
        }
    }
    let rollout: Vec<RolloutRow> = rollout
        .into_iter()
        .map(
            |((roadmap_id, platform, status, updated), tenants)| RolloutRow {
                tenants: if tenants.len() <= FEW_TENANTS {
                    tenants.join(", ")
                } else {
                    format!("{} tenants", tenants.len())
                },
                roadmap_id,
                platform,
                status,
                updated,
            },
        )
        .collect();
    let mut dates = Vec::new();
    for (label, t) in [
        ("Starts", c.start),
        ("Act by", c.act_by),
        ("Ends", c.end),
        ("Last changed", c.last_modified),
        ("First seen", Some(d.summary.first_seen)),
    ] {
        if let Some(t) = t {
            dates.push(DateRow {
                label,
                date: t.date(),
                relative: view::relative(&t, &now),
            });
        }
    }
    // the timeline as the body tells it (stored with the revision)
    let timeline = &d.timeline;
    let phases = timeline
        .phases
        .iter()
        .map(|p| PhaseRow {
            label: format!("{} · {}", p.ring.label(), p.cloud.label()),
            when: p.when(),
            text: p.text.clone(),
        })
        .collect();
    let previously = timeline
        .previously
        .iter()
        .map(|p| format!("{} · {}: {}", p.ring.label(), p.cloud.label(), p.text))
        .collect();
    let names: Vec<&str> = d.tenants.iter().map(|t| t.name.as_str()).collect();
    let tenant_groups = Groups::load(state, caller).await?.cover(&names);
    let listed = tenant_cover::page_of(&d.tenants, |t| t.name.as_str(), &list.q, list.page);
    let tenant_first = (listed.page - 1) * tenant_cover::TENANT_PAGE + 1;
    let tenants_previous =
        (listed.page > 1).then(|| tenants_link(&id, &list.q, (listed.page - 1).min(listed.pages)));
    let tenants_next =
        (listed.page < listed.pages).then(|| tenants_link(&id, &list.q, listed.page + 1));
    let (tenant_matches, tenant_count) = (listed.matches, d.tenants.len());
    let tenants = listed
        .items
        .into_iter()
        .map(|t| TenantRow {
            name: t.name.clone(),
            visible: t.visible,
            first_seen: t.first_seen.date(),
            last_seen: t.last_seen.date(),
            gone_at: view::date(&t.gone_at),
            details: t
                .details
                .iter()
                // shown elsewhere: the summary, the rollout, links (only
                // the safe ones, under Links)
                .filter(|x| {
                    !x.name.eq_ignore_ascii_case("FeatureStatusJson")
                        && !x.name.eq_ignore_ascii_case("Summary")
                        && !x.name.to_ascii_lowercase().ends_with("link")
                })
                .map(|x| (x.name.clone(), x.value.clone()))
                .collect(),
        })
        .collect();
    let revisions = d
        .revisions
        .iter()
        .rev()
        .map(|r| RevisionRow {
            revision: r.revision,
            modified: view::date(&r.last_modified),
            recorded: view::when(&r.recorded_at),
            tenant: r
                .tenant
                .clone()
                .filter(|t| caller.sees(t))
                .unwrap_or_default(),
            changes: r
                .changes
                .iter()
                .filter(|c| c.noteworthy())
                .map(|c| c.readable())
                .collect(),
        })
        .collect();
    let (diff, diff_error) = if d.summary.revision > 1 || from.is_some() || to.is_some() {
        match revision_pair(state, &id, d.summary.revision, from, to).await {
            Ok((from, to, old, new)) => {
                let readable = |v: Option<String>| {
                    v.as_deref()
                        .map(changedesk_core::diff::readable_value)
                        .unwrap_or_default()
                };
                let fields = changedesk_core::diff::message_changes(&old, &new)
                    .into_iter()
                    .filter(|f| f.noteworthy())
                    .map(|f| FieldRow {
                        field: changedesk_core::diff::field_label(&f.field).to_owned(),
                        old: readable(f.old),
                        new: readable(f.new),
                        summary: f.summary.unwrap_or_default(),
                    })
                    .collect();
                (
                    Some(DiffView {
                        from,
                        to,
                        fields,
                        lines: changedesk_core::diff::message_inline_diff(&old, &new),
                    }),
                    None,
                )
            }
            Err(e) if e.status == StatusCode::BAD_REQUEST => (None, Some(e.detail)),
            Err(e) => return Err(e.into()),
        }
    } else {
        (None, None)
    };

    // every exception (the page searches them) and the log it shows
    let everything = items::ItemDetailParams {
        exceptions_offset: 0,
        exceptions_limit: usize::MAX,
        log_limit: if list.whole_log {
            usize::MAX
        } else {
            LOG_SHOWN
        },
    };
    let item = match items::detail(state, caller, &id, &everything).await {
        Ok(i) => Some(i),
        Err(e) if e.status == StatusCode::NOT_FOUND => None,
        Err(e) => return Err(e.into()),
    };
    let log_total = item.as_ref().map_or(0, |i| i.log_count);
    let log: Vec<LogRow> = item
        .as_ref()
        .map(|i| {
            i.log
                .iter()
                // newest first; an item decided per tenant for hundreds of
                // tenants has thousands of entries: the newest only, unless asked
                .rev()
                .take(if list.whole_log {
                    usize::MAX
                } else {
                    LOG_SHOWN
                })
                .map(|e| {
                    let feedback = (e.action == "feedback")
                        .then_some(e.new.as_deref())
                        .flatten()
                        .and_then(|k| k.parse::<changedesk_core::triage::FeedbackKind>().ok());
                    let pilot = (e.action == "pilot_finding")
                        .then_some(e.new.as_deref())
                        .flatten()
                        .and_then(|r| {
                            r.parse::<changedesk_core::triage::PilotRecommendation>()
                                .ok()
                        });
                    let what = match (&e.field, &e.old, &e.new) {
                        _ if feedback.is_some() => format!(
                            "Feedback to Microsoft: {}",
                            feedback.map(|k| k.label()).unwrap_or_default()
                        ),
                        (group, _, _) if pilot.is_some() => format!(
                            "Pilot finding of {}: {}",
                            group.as_deref().unwrap_or("a pilot group"),
                            pilot.map(|r| r.label()).unwrap_or_default()
                        ),
                        (Some(f), old, new) => {
                            let show = |v: &Option<String>| {
                                v.as_deref().map_or_else(
                                    || "none".to_owned(),
                                    changedesk_core::diff::readable_value,
                                )
                            };
                            format!(
                                "{}: {} → {}",
                                changedesk_core::diff::field_label(f),
                                show(old),
                                show(new)
                            )
                        }
                        (None, _, Some(new)) => format!("{}: {new}", e.action),
                        (None, _, None) => e.action.replace('_', " "),
                    };
                    LogRow {
                        at: view::date_of(&Some(e.at.clone())),
                        actor: e.actor.clone(),
                        text: match &e.tenant {
                            Some(t) => format!("{what} (tenant {t})"),
                            None => what,
                        },
                        reason: e.reason.clone().unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let may_act = item.as_ref().is_some_and(|i| {
        !i.allowed_actions.is_empty() || (i.for_tenants_only || !list.act_for.is_empty())
    }) && (caller.require(crate::http::auth::Need::TriageAny).is_ok()
        || caller.role == changedesk_core::access::Role::Owner);
    let panel = match &item {
        Some(i) if may_act => {
            let act_for_label = match act_for_of(&list.act_for) {
                items::ActFor::All if i.for_tenants_only => {
                    "your tenants (the post's other tenants are not yours to decide for)"
                        .to_string()
                }
                items::ActFor::All => "every tenant".to_string(),
                items::ActFor::Group(g) => format!("tenant group {g}"),
                items::ActFor::Tenants(t) => t.join(", "),
            };
            let suggested = match &i.item.assignee {
                Some(_) => None,
                None => changedesk_core::triage::OwnershipMap {
                    entries: state.store.ownership().await?,
                }
                .owner_for(&c.services, None, &[])
                .map(|o| o.owner),
            };
            Some(Panel {
                owner: i
                    .item
                    .assignee
                    .clone()
                    .or_else(|| suggested.clone())
                    .unwrap_or_default(),
                owner_suggested: suggested.is_some(),
                priority: i.item.priority.clone(),
                outcome: if i.item.state == "new" {
                    "triage"
                } else {
                    "keep"
                },
                owners: state
                    .store
                    .owners()
                    .await?
                    .into_iter()
                    .map(|o| (o.name, o.display_name))
                    .collect(),
                priorities: Priority::NAMES,
                decisions: Decision::NAMES,
                allowed: i.allowed_actions.clone(),
                due: view::date_of(&i.item.due),
                some_tenants: i.for_tenants_only || !list.act_for.is_empty(),
                act_for: list.act_for.clone(),
                act_for_label,
                group_choices: tenant_groups
                    .iter()
                    .map(|g| format!("group:{}", g.name))
                    .collect(),
            })
        }
        _ => None,
    };
    let q = list.q.to_ascii_lowercase();
    let exceptions: Vec<ExceptionRow> = item
        .as_ref()
        .and_then(|i| i.item.overrides.as_ref())
        .map(|o| {
            o.iter()
                .filter(|o| q.is_empty() || o.tenant.contains(&q))
                .take(EXCEPTIONS_SHOWN)
                .map(|o| ExceptionRow {
                    standing: match (o.applicable, &o.state, &o.decision) {
                        (Some(false), _, _) => "not applicable".to_string(),
                        (_, Some(s), Some(d)) => {
                            format!("{} ({})", s.replace('_', " "), d.replace('_', " "))
                        }
                        (_, Some(s), None) => s.replace('_', " "),
                        (_, None, _) => String::new(),
                    },
                    assignee: o.assignee.clone().unwrap_or_default(),
                    due: view::date_of(&o.due),
                    note: o
                        .note
                        .clone()
                        .or_else(|| o.dismiss_reason.clone())
                        .unwrap_or_default(),
                    href: format!(
                        "/posts/{}?for={}#triage",
                        view::encode(&id),
                        view::encode(&o.tenant)
                    ),
                    tenant: o.tenant.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let item_state = item
        .as_ref()
        .map_or("", |i| view::state_label(&i.item.state));
    let tickets = match &item {
        Some(_) => crate::http::routes::changes::tickets(state, caller, &id).await?,
        None => Vec::new(),
    };
    let connectors = if item.is_some() && may_act {
        let channels = state.store.channels().await?;
        crate::http::routes::changes::connectors_for(caller, &channels)
            .filter(|c| c.enabled)
            .map(|c| c.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    let comms = crate::http::routes::comms::list(
        state,
        caller,
        &crate::http::routes::comms::CommsParams {
            post: Some(id.clone()),
            ..Default::default()
        },
    )
    .await?
    .iter()
    .map(|c| {
        (
            c.id,
            c.state.as_str(),
            c.text.subject.clone(),
            super::comms::measure(c),
        )
    })
    .collect();
    let pilots: Vec<(String, String, String)> = state
        .store
        .pilot_tasks(
            &changedesk_store::PilotTaskQuery {
                post_id: Some(id.clone()),
                ..Default::default()
            },
            changedesk_store::MAX_PILOT_TASKS,
        )
        .await?
        .into_iter()
        .map(|t| {
            let finding = t
                .finding
                .map(|f| {
                    let label = f
                        .recommendation
                        .parse::<changedesk_core::triage::PilotRecommendation>()
                        .map_or(f.recommendation.clone(), |r| r.label().to_string());
                    match f.text {
                        Some(text) => {
                            format!("{label} ({} by {}): {text}", view::when(&f.at), f.actor)
                        }
                        None => format!("{label} ({} by {})", view::when(&f.at), f.actor),
                    }
                })
                .unwrap_or_default();
            (
                t.group,
                changedesk_core::timeline::iso(t.pilot_start),
                finding,
            )
        })
        .collect();
    let pilot_version = item.as_ref().filter(|_| may_act).map(|i| i.item.version);
    let can_request_comms = caller.role.handles_comms()
        || caller.may_act_on(item.as_ref().and_then(|i| i.item.assignee.as_deref()));
    let (prev_post, next_post) = triage_queue_around(state, caller, &id).await?;
    let page = PostPage {
        layout: user.layout(format!("{id} {}", c.title), "inbox"),
        id: id.clone(),
        title: c.title.clone(),
        category: view::category_label(c.category.as_str()),
        severity: c.severity.as_str().to_string(),
        major: c.is_major,
        expired: d.summary.state == changedesk_store::PostState::Expired,
        services: c.services.join(", "),
        tags: c.tags.join(", "),
        revision: d.summary.revision,
        summary,
        body: style_headings(&sanitize::body(&c.body_html)),
        dates,
        phases,
        prev_post,
        next_post,
        admin_url: changedesk_core::notify::admin_center_url(&id),
        previously,
        rollout,
        tenant_count,
        tenant_groups,
        tenants,
        tenant_q: list.q.clone(),
        tenant_matches,
        tenant_first,
        tenants_previous,
        tenants_next,
        many_tenants: tenant_count > FEW_TENANTS,
        roadmap,
        links,
        revisions,
        diff,
        diff_error,
        item,
        item_state,
        exceptions,
        log_more: log_total.saturating_sub(log.len()),
        log,
        panel,
        notice,
        tickets,
        connectors,
        comms,
        can_request_comms,
        pilots,
        pilot_version,
    };
    Ok((status, axum::response::Html(page.render()?)).into_response())
}

/// The API's action for a triage form: the form's `action` and the fields
/// that action takes, read by the same serde form as the API's JSON body.
fn action_of(form: &UiForm) -> Result<Action, String> {
    let action = form.get("action");
    let mut v = serde_json::Map::new();
    v.insert("action".into(), action.into());
    let text = |name: &str| -> serde_json::Value {
        match form.get(name) {
            "" => serde_json::Value::Null,
            s => s.into(),
        }
    };
    match action {
        "assign" => {
            v.insert("owner".into(), text("owner"));
        }
        "set_priority" => {
            v.insert("priority".into(), form.get("priority").into());
        }
        "set_due" => {
            let due = match form.get("due") {
                "" => serde_json::Value::Null,
                d => {
                    let t = changedesk_core::Timestamp::parse(&format!("{d}T00:00:00Z"))
                        .map_err(|_| format!("due date `{d}` is not a date like 2026-03-31"))?;
                    t.to_canonical().into()
                }
            };
            v.insert("due".into(), due);
        }
        "dismiss" | "reopen" => {
            v.insert("reason".into(), form.get("reason").into());
        }
        "close" => {
            v.insert("decision".into(), form.get("decision").into());
            v.insert("reason".into(), text("reason"));
        }
        "comment" => {
            v.insert("text".into(), form.get("text").into());
        }
        "add_label" | "remove_label" => {
            v.insert("label".into(), form.get("label").into());
        }
        "record_feedback" => {
            v.insert("kind".into(), form.get("kind").into());
            v.insert("reference".into(), text("reference"));
        }
        "record_pilot_finding" => {
            v.insert("pilot_group".into(), form.get("pilot_group").into());
            v.insert("recommendation".into(), form.get("recommendation").into());
            v.insert("text".into(), text("text"));
        }
        "triage" | "start" | "acknowledge" => {}
        other => return Err(format!("`{other}` is not an action this page offers")),
    }
    serde_json::from_value(serde_json::Value::Object(v)).map_err(|e| e.to_string())
}

/// `POST /posts/{id}/actions`: one triage action, as the API's
/// `POST /api/v1/items/{id}/actions` does it (same checks, same log); then
/// back to the post, or the post again with what went wrong.
pub(crate) async fn act(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: UiForm,
) -> UiResult<Response> {
    let actions = action_of(&form).map(|a| vec![a]);
    run_actions(&state, &form, &id, actions, None).await
}

/// How many posts awaiting triage the post page looks through for the ones
/// before and after it.
const TRIAGE_QUEUE: u32 = 200;

/// The posts awaiting triage (their item `new`) in the caller's scope, in
/// the inbox's default order (newest change first): the one before `id`
/// and the one after it; for a post not among them, none before and the
/// first after.
async fn triage_queue_around(
    state: &AppState,
    caller: &crate::http::auth::Caller,
    id: &str,
) -> Result<(Option<String>, Option<String>), UiError> {
    let mut q = changedesk_store::PostQuery::new(scope_of(caller));
    q.item_states = vec![changedesk_core::triage::State::New];
    q.limit = TRIAGE_QUEUE;
    // the ids alone: 200 posts' summaries carry ~340,000 tenant links at an
    // MSP's shape (80 ms of the page on PostgreSQL)
    let ids: Vec<String> = state.store.list_post_ids(&q).await?;
    Ok(match ids.iter().position(|p| p == id) {
        Some(i) => (
            i.checked_sub(1).and_then(|j| ids.get(j)).cloned(),
            ids.get(i + 1).cloned(),
        ),
        None => (None, ids.into_iter().next()),
    })
}

/// The one triage form's actions, in order: owner, priority, due date (each
/// only when it differs from what the form showed), then the state
/// (`outcome`: triage, start, close with a decision, dismiss, or keep), and
/// the text as a comment unless it was the reason of a close or dismissal.
fn triage_form_actions(form: &UiForm) -> Result<Vec<Action>, String> {
    let mut out = Vec::new();
    let field = |k: &str| form.get(k).trim().to_string();
    let one = |pairs: &[(&str, serde_json::Value)]| -> Result<Action, String> {
        let map: serde_json::Map<String, serde_json::Value> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect();
        serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| e.to_string())
    };
    let opt = |v: String| {
        if v.is_empty() {
            serde_json::Value::Null
        } else {
            v.into()
        }
    };
    if field("owner") != field("was_owner") {
        out.push(one(&[
            ("action", "assign".into()),
            ("owner", opt(field("owner"))),
        ])?);
    }
    let priority = field("priority");
    if !priority.is_empty() && priority != field("was_priority") {
        out.push(one(&[
            ("action", "set_priority".into()),
            ("priority", priority.into()),
        ])?);
    }
    let due = field("due");
    if due != field("was_due") {
        let due = match due.as_str() {
            "" => serde_json::Value::Null,
            d => changedesk_core::Timestamp::parse(&format!("{d}T00:00:00Z"))
                .map_err(|_| format!("due date `{d}` is not a date like 2026-03-31"))?
                .to_canonical()
                .into(),
        };
        out.push(one(&[("action", "set_due".into()), ("due", due)])?);
    }
    let text = field("text");
    let mut text_used = false;
    match form.get("outcome") {
        "" | "keep" => {}
        "triage" => out.push(one(&[("action", "triage".into())])?),
        "start" => out.push(one(&[("action", "start".into())])?),
        "close" => {
            text_used = true;
            out.push(one(&[
                ("action", "close".into()),
                ("decision", form.get("decision").into()),
                ("reason", opt(text.clone())),
            ])?);
        }
        "dismiss" => {
            if text.is_empty() {
                return Err("say why the post is not relevant (the text box) to dismiss it".into());
            }
            text_used = true;
            out.push(one(&[
                ("action", "dismiss".into()),
                ("reason", text.clone().into()),
            ])?);
        }
        other => return Err(format!("`{other}` is not something the triage form does")),
    }
    if !text.is_empty() && !text_used {
        out.push(one(&[("action", "comment".into()), ("text", text.into())])?);
    }
    Ok(out)
}

/// `POST /posts/{id}/triage`: the one triage form (owner, priority, due
/// date, what to do with the state, a comment) in one submit: its actions
/// one after another, as the API's `POST /api/v1/items/{id}/actions` does
/// each (same checks, same log; the first at the version the form showed).
/// Then back to the post, or with `then=next` to the next post awaiting
/// triage; or the post again with what went wrong (what was done before it
/// stays done, and is said).
pub(crate) async fn triage_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: UiForm,
) -> UiResult<Response> {
    // where "next" goes is decided before this post leaves the queue
    let next = if form.get("then") == "next" {
        triage_queue_around(&state, &form.user.caller, &id).await?.1
    } else {
        None
    };
    run_actions(&state, &form, &id, triage_form_actions(&form), next).await
}

/// Does a form's `actions` on the post `id` one after another, as the API's
/// `POST /api/v1/items/{id}/actions` does each (same checks, same log; the
/// first at the form's `version`), for the form's `for`. Then to `next`, or
/// back to the post; or the post again with what went wrong (what was done
/// before it stays done, and is said) or which tenants were left as they
/// were.
async fn run_actions(
    state: &AppState,
    form: &UiForm,
    id: &str,
    actions: Result<Vec<Action>, String>,
    next: Option<String>,
) -> UiResult<Response> {
    let mut version = match form.get("version") {
        "" => None,
        v => Some(
            v.parse::<i64>()
                .map_err(|_| UiError::bad_request(format!("version `{v}` is not a number")))?,
        ),
    };
    let act_for = form.get("for").trim().to_string();
    let mut failure = None;
    let mut done = 0usize;
    let mut skipped = Vec::new();
    match actions {
        Err(m) => failure = Some((StatusCode::BAD_REQUEST, m)),
        Ok(actions) => {
            for action in actions {
                match items::act(
                    state,
                    &form.user.caller,
                    id,
                    version.take(),
                    action,
                    &act_for_of(&act_for),
                )
                .await
                {
                    Ok(s) => {
                        done += 1;
                        skipped.extend(s);
                    }
                    Err(e) => {
                        failure = Some((e.status, e.detail));
                        break;
                    }
                }
            }
        }
    }
    let (note, status) = match failure {
        None if skipped.is_empty() => {
            let to = match (&next, act_for.is_empty()) {
                (Some(n), _) => format!("/posts/{}#triage", view::encode(n)),
                (None, true) => format!("/posts/{}#triage", view::encode(id)),
                (None, false) => format!(
                    "/posts/{}?for={}#triage",
                    view::encode(id),
                    view::encode(&act_for)
                ),
            };
            return Ok(Redirect::to(&to).into_response());
        }
        None => (
            format!(
                "Done; left as they were: {}",
                skipped
                    .iter()
                    .map(|s| format!("{} ({})", s.tenant, s.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            StatusCode::OK,
        ),
        // not in scope: as for any post that does not exist
        Some((StatusCode::NOT_FOUND, m)) => {
            return Err(UiError::Page {
                status: StatusCode::NOT_FOUND,
                message: m,
            });
        }
        Some((status, m)) if done > 0 => (
            format!("{done} of the changes were saved, then: {m}"),
            status,
        ),
        Some((status, m)) => (m, status),
    };
    let list = TenantList {
        page: 1,
        act_for,
        ..TenantList::default()
    };
    render(
        state,
        &form.user,
        id,
        (None, None),
        &list,
        Some(note),
        status,
    )
    .await
}

/// `POST /posts/{id}/raise-change`: a change request, as the API's
/// `POST /api/v1/items/{id}/change-requests` makes it (same checks, same
/// log); then back to the post, or the post again with what went wrong.
pub(crate) async fn raise_change(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: UiForm,
) -> UiResult<Response> {
    let text = |k: &str| Some(form.get(k).trim().to_string()).filter(|v| !v.is_empty());
    let req = crate::http::routes::changes::RaiseChangeRequest {
        connector: form.get("connector").to_string(),
        tenant: text("tenant"),
        group: text("group"),
        version: None,
    };
    // a post out of scope does not exist, as everywhere
    state
        .store
        .post_in_scope(&id, &scope_of(&form.user.caller))
        .await?;
    let (note, status) = match crate::http::routes::changes::request_change(
        &state,
        &form.user.caller,
        &id,
        &req,
    )
    .await
    {
        Ok(r) => (
            format!(
                "Asked {} to raise a change for {} (its id there: {}); it appears here once raised.",
                r.connector, r.scope, r.correlation_id
            ),
            StatusCode::OK,
        ),
        Err(e) => (e.detail, e.status),
    };
    render(
        &state,
        &form.user,
        &id,
        (None, None),
        &TenantList {
            page: 1,
            ..TenantList::default()
        },
        Some(note),
        status,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracketed_headings_alone_in_a_run_are_styled() {
        let html = r#"<p>[When this will happen:]</p><p>Rollout [soon] begins.</p><p><b>[How this will affect your organization:]</b></p><a href="https://x/[y]" title="a > [b]">[z]</a>"#;
        let out = style_headings(html);
        assert!(
            out.contains(r#"<p><span class="mc-h" role="heading" aria-level="3">[When this will happen:]</span></p>"#),
            "{out}"
        );
        assert!(out.contains("<p>Rollout [soon] begins.</p>"), "{out}");
        assert!(
            out.contains(r#"<b><span class="mc-h" role="heading" aria-level="3">[How this will affect your organization:]</span></b>"#),
            "{out}"
        );
        // attributes are never touched, even with `>` inside quotes
        assert!(
            out.contains(r#"<a href="https://x/[y]" title="a > [b]"><span class="mc-h""#),
            "{out}"
        );
    }
}
