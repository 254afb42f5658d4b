//! Service health (`/health`): each service's status across the tenants in
//! the caller's scope, the incidents with the tenants they affect, and an
//! incident's page (`/health/incidents/{id}`) with Microsoft's posts as a
//! timeline; and the tenants (`/tenants`): sync status, last error, counts
//! and "sync now" for those who may. All through the API's own functions
//! (`routes::incidents`, `routes::tenants`), so scope and roles hold alike.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use changedesk_core::Timestamp;
use serde::Deserialize;

use super::view::{self, Layout, Notice};
use super::{SignedIn, UiError, UiForm, UiResult, html, html_status, refusal};
use crate::http::AppState;
use crate::http::auth::Need;
use crate::http::routes::incidents::{self, IncidentParams, IncidentSummaryDto};
use crate::http::routes::tenants::{self as api_tenants, TenantDto};

/// Incidents listed at most.
const INCIDENTS: i64 = 300;
/// Tenants named per status of a service; the rest are counted.
const NAMED: usize = 12;

/// At most this many tenants, the tenant is chosen from a list; beyond, it
/// is named in a box.
const LISTED_TENANTS: usize = 50;

/// Graph's status for people: `serviceDegradation` → `service degradation`.
pub(crate) fn status_label(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// How bad a status is (0: fine), for ordering and colour.
fn severity(status: &str) -> u8 {
    match status.to_ascii_lowercase().as_str() {
        "serviceinterruption" => 5,
        "servicedegradation" => 4,
        "extendedrecovery" | "restoringservice" => 3,
        "investigating" | "verifyingservice" | "reported" | "confirmed" => 2,
        s if FINE.contains(&s) => 0,
        _ => 1,
    }
}

/// The statuses that mean a service is fine (in lower case): their tenants
/// are counted, not named.
const FINE: &[&str] = &[
    "serviceoperational",
    "servicerestored",
    "resolved",
    "resolvedexternal",
    "postincidentreviewpublished",
    "falsepositive",
    "mitigated",
    "mitigatedexternal",
    "investigationsuspended",
];

/// The CSS class of a status: `bad`, `warn` or `ok`.
fn status_class(status: &str) -> &'static str {
    match severity(status) {
        4.. => "bad",
        1..=3 => "warn",
        0 => "ok",
    }
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct HealthQuery {
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    service: String,
    /// `open` (default), `resolved` or `all`.
    #[serde(default)]
    incidents: String,
}

/// One status of a service: the tenants that have it.
pub(crate) struct StatusGroup {
    label: String,
    class: &'static str,
    count: usize,
    /// The first tenants, named (none for a fine status: counted only).
    tenants: Vec<String>,
}

/// One service's statuses across tenants, as read.
struct Statuses {
    /// As the first tenant's overview spells it.
    name: String,
    /// Status → how many tenants have it, and the first of them by name.
    tenants: BTreeMap<String, (i64, Vec<String>)>,
    /// When the earliest trouble began.
    since: Option<String>,
}

pub(crate) struct ServiceRow {
    service: String,
    worst: String,
    class: &'static str,
    groups: Vec<StatusGroup>,
    since: String,
}

pub(crate) struct IncidentRow {
    id: String,
    title: String,
    service: String,
    classification: String,
    status: String,
    class: &'static str,
    resolved: bool,
    start: String,
    modified: String,
    tenants_now: i64,
    tenants_ever: i64,
}

impl From<&IncidentSummaryDto> for IncidentRow {
    fn from(i: &IncidentSummaryDto) -> IncidentRow {
        IncidentRow {
            id: i.id.clone(),
            title: i.title.clone(),
            service: i.service.clone(),
            classification: i.classification.clone(),
            status: status_label(&i.status),
            class: if i.is_resolved {
                "ok"
            } else {
                status_class(&i.status)
            },
            resolved: i.is_resolved,
            start: view::date_of(&i.start),
            modified: view::when_of(&i.last_modified),
            tenants_now: i.tenants_visible,
            tenants_ever: i.tenants_seen,
        }
    }
}

#[derive(Template)]
#[template(path = "health.html")]
struct HealthPage {
    layout: Layout,
    /// The tenants to choose from; none: a box to name one.
    tenants: Vec<String>,
    tenant: String,
    service: String,
    which: String,
    services: Vec<ServiceRow>,
    incidents: Vec<IncidentRow>,
    limited: bool,
}

/// `GET /health`.
pub(crate) async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<HealthQuery>,
) -> UiResult<Response> {
    let caller = &user.caller;
    let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let which = match q.incidents.trim() {
        "" | "open" => "open",
        "resolved" => "resolved",
        "all" => "all",
        other => {
            return Err(UiError::bad_request(format!(
                "incidents `{other}` is not one of open, resolved, all"
            )));
        }
    };
    caller.require(Need::Read)?;
    let tenant = opt(&q.tenant).map(|t| t.to_ascii_lowercase());
    let service = q.service.trim();
    // counted by the store: a row per service and status, the troubled
    // ones' first tenants named (2,000 tenants × 17 services otherwise)
    let counts = match &tenant {
        Some(t) if !caller.sees(t) => Vec::new(),
        _ => state
            .store
            .health_summary(&changedesk_store::HealthFilter {
                scope: &crate::http::routes::posts::scope_of(caller),
                tenant: tenant.as_deref(),
                service: Some(service).filter(|s| !s.is_empty()),
                unnamed: FINE,
                named: NAMED as i64,
            })
            .await
            .map_err(crate::http::error::ApiError::from)?,
    };
    // service (any case) → its statuses
    let mut by_service: BTreeMap<String, Statuses> = BTreeMap::new();
    for c in counts {
        let e = by_service.entry(c.key).or_insert_with(|| Statuses {
            name: c.service.clone(),
            tenants: BTreeMap::new(),
            since: None,
        });
        if severity(&c.status) > 0 {
            // the earliest trouble
            let since = c.since.to_canonical();
            if e.since.as_ref().is_none_or(|s| since < *s) {
                e.since = Some(since);
            }
        }
        e.tenants.insert(c.status, (c.count, c.tenants));
    }
    let mut services: Vec<ServiceRow> = by_service
        .into_values()
        .map(
            |Statuses {
                 name,
                 tenants: statuses,
                 since,
             }| {
                let mut ranked: Vec<(u8, StatusGroup)> = statuses
                    .into_iter()
                    .map(|(status, (count, mut tenants))| {
                        let rank = severity(&status);
                        tenants.truncate(if rank == 0 { 0 } else { NAMED });
                        let group = StatusGroup {
                            label: status_label(&status),
                            class: status_class(&status),
                            count: usize::try_from(count).unwrap_or(0),
                            tenants,
                        };
                        (rank, group)
                    })
                    .collect();
                // the worst first
                ranked.sort_by_key(|(rank, _)| std::cmp::Reverse(*rank));
                let groups: Vec<StatusGroup> = ranked.into_iter().map(|(_, g)| g).collect();
                let (worst, class) = groups
                    .first()
                    .map(|g| (g.label.clone(), g.class))
                    .unwrap_or_default();
                ServiceRow {
                    service: name,
                    worst,
                    class,
                    groups,
                    since: view::when_of(&since),
                }
            },
        )
        .collect();
    // services in trouble first, then by name
    services.sort_by_key(|s| std::cmp::Reverse(class_rank(s.class)));

    let resolved = match which {
        "open" => Some(false),
        "resolved" => Some(true),
        _ => None,
    };
    let list = incidents::incidents(
        &state,
        caller,
        IncidentParams {
            tenant: opt(&q.tenant),
            service: opt(service),
            resolved,
            state: None,
            limit: Some(INCIDENTS),
        },
    )
    .await?;
    // a choice of a few tenants; beyond, a box to name one (a list of
    // 2,000 options made the page 100 KB)
    let mut tenants = api_tenants::names(&state, caller).await?;
    if tenants.len() > LISTED_TENANTS {
        tenants.clear();
    }
    html(&HealthPage {
        layout: user.layout("Service health", "health"),
        tenants,
        tenant: q.tenant.trim().to_ascii_lowercase(),
        service: service.to_string(),
        which: which.to_string(),
        services,
        limited: list.len() as i64 >= INCIDENTS,
        incidents: list.iter().map(IncidentRow::from).collect(),
    })
}

fn class_rank(class: &str) -> u8 {
    match class {
        "bad" => 2,
        "warn" => 1,
        _ => 0,
    }
}

/// The labels Microsoft writes its incident updates with, run together
/// (`Title: …User Impact: …Current status: …`).
const UPDATE_LABELS: &[&str] = &[
    "Title:",
    "User Impact:",
    "More info:",
    "Current status:",
    "Scope of impact:",
    "Start time:",
    "End time:",
    "Root cause:",
    "Preliminary root cause:",
    "Next steps:",
    "Final status:",
    "Next update by:",
    "This is the final update for the event.",
];

/// Starts each labelled part of a sanitised incident update on a line of
/// its own with its label in bold. Works on the sanitiser's output, where a
/// text run is what lies outside `<…>` (quotes honoured inside a tag, text
/// already escaped); only `<br>` and `<strong>` are added, around text kept
/// as it was.
fn mark_sections(clean: &str) -> String {
    super::view::map_text_runs(clean, |text, out| {
        let mut rest = text;
        while !rest.is_empty() {
            // the earliest label in what is left (the longest where two start
            // at the same place)
            let next = UPDATE_LABELS
                .iter()
                .filter_map(|l| rest.find(l).map(|i| (i, std::cmp::Reverse(l.len()), *l)))
                .min();
            let Some((i, _, label)) = next else {
                out.push_str(rest);
                break;
            };
            out.push_str(rest.get(..i).unwrap_or_default());
            if !out.trim_end().is_empty() && !out.trim_end().ends_with('>') {
                out.push_str("<br>");
            }
            out.push_str("<strong class=\"inc-h\">");
            out.push_str(label);
            out.push_str("</strong>");
            rest = rest.get(i + label.len()..).unwrap_or_default();
        }
    })
}

pub(crate) struct PostRow {
    created: String,
    kind: String,
    html: String,
}

pub(crate) struct HistoryRow {
    status: String,
    class: &'static str,
    observed: String,
    tenant: String,
}

pub(crate) struct LinkRow {
    tenant: String,
    visible: bool,
    first_seen: String,
    last_seen: String,
    gone_at: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    layout: Layout,
    i: IncidentRow,
    feature: String,
    feature_group: String,
    origin: String,
    impact: String,
    high_impact: bool,
    end: String,
    posts: Vec<PostRow>,
    history: Vec<HistoryRow>,
    tenants: Vec<LinkRow>,
}

/// `GET /health/incidents/{id}`: an incident in scope (others are not
/// found, as in the API).
pub(crate) async fn incident(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> UiResult<Response> {
    let d = incidents::incident(&state, &user.caller, &id).await?;
    let i = IncidentRow::from(&d.incident);
    // Microsoft's posts, newest first (the description is sanitised by the
    // API's function)
    let mut posts: Vec<(Option<String>, PostRow)> = d
        .posts
        .iter()
        .map(|p| {
            (
                p.created.clone(),
                PostRow {
                    created: view::when_of(&p.created),
                    kind: p.post_type.clone(),
                    html: mark_sections(&p.description_html),
                },
            )
        })
        .collect();
    posts.sort_by(|a, b| b.0.cmp(&a.0));
    let history = d
        .status_history
        .iter()
        .rev()
        .map(|h| HistoryRow {
            status: status_label(&h.status),
            class: if h.is_resolved {
                "ok"
            } else {
                status_class(&h.status)
            },
            observed: view::when_of(&Some(h.observed_at.clone())),
            tenant: h.tenant.clone().unwrap_or_default(),
        })
        .collect();
    let tenants = d
        .tenants
        .iter()
        .map(|t| LinkRow {
            tenant: t.tenant.clone(),
            visible: t.visible,
            first_seen: view::date_of(&Some(t.first_seen.clone())),
            last_seen: view::date_of(&Some(t.last_seen.clone())),
            gone_at: view::date_of(&t.gone_at),
        })
        .collect();
    html(&IncidentPage {
        layout: user.layout(format!("{} {}", i.id, i.title), "health"),
        feature: d.incident.feature.clone(),
        feature_group: d.feature_group.clone(),
        origin: d.origin.clone(),
        impact: d.impact_description.clone(),
        high_impact: d.high_impact == Some(true),
        end: view::date_of(&d.incident.end),
        posts: posts.into_iter().map(|(_, p)| p).collect(),
        history,
        tenants,
        i,
    })
}

// ---------------------------------------------------------------- tenants

pub(crate) struct TenantRowView {
    name: String,
    last_sync: String,
    last_sync_ago: String,
    error: Option<String>,
    complete: String,
    watermark: String,
    posts_visible: i64,
    posts_seen: i64,
    incidents_visible: i64,
    display_name: String,
    directory_id: String,
    /// Added to the database (its consent, check and removal apply).
    added: bool,
    consent: String,
    consent_error: Option<String>,
    missing: String,
    check_error: Option<String>,
    /// The health's words when not ok (`consent lost`, …), and its advice.
    trouble: String,
    advice: Option<String>,
    /// When the last good sync was, when the last one failed.
    last_ok: String,
    failures: i64,
    /// Known only from the archive: not configured nor added, so not synced.
    orphan: bool,
}

fn tenant_row(t: &TenantDto, now: &Timestamp) -> TenantRowView {
    let last = t
        .last_sync_at
        .as_deref()
        .and_then(|s| Timestamp::parse(s).ok());
    TenantRowView {
        name: t.name.clone(),
        last_sync: last.as_ref().map(view::when).unwrap_or_default(),
        last_sync_ago: last
            .as_ref()
            .map(|l| view::relative(l, now))
            .unwrap_or_default(),
        error: t.last_sync_error.clone(),
        complete: view::when_of(&t.messages_complete_at),
        watermark: view::when_of(&t.messages_watermark),
        posts_visible: t.posts_visible,
        posts_seen: t.posts_seen,
        incidents_visible: t.incidents_visible,
        display_name: t.display_name.clone().unwrap_or_default(),
        directory_id: t.directory_id.clone().unwrap_or_default(),
        added: t.source == "database",
        consent: t.consent.as_deref().unwrap_or_default().replace('_', " "),
        consent_error: t.consent_error.clone(),
        missing: t.missing_permissions.join(", "),
        check_error: t.check_error.clone(),
        trouble: match t.health.as_str() {
            "ok" | "never_synced" => String::new(),
            other => other.replace('_', " "),
        },
        advice: t.health_advice.clone(),
        last_ok: t
            .last_ok_sync_at
            .as_deref()
            .and_then(|s| Timestamp::parse(s).ok())
            .map(|l| view::relative(&l, now))
            .unwrap_or_default(),
        failures: t.sync_failures,
        orphan: t.source == "archive",
    }
}

#[derive(Template)]
#[template(path = "tenants.html")]
struct TenantsPage {
    layout: Layout,
    rows: Vec<TenantRowView>,
    /// The caller may ask for syncs (`Need::Configure`).
    can_sync: bool,
    /// A scheduler runs in this process.
    scheduler: bool,
    /// The caller may add tenants, make consent links, check and remove
    /// (an unrestricted admin, with `[app]` configured).
    can_onboard: bool,
    /// A consent link just made: the tenant and the link.
    link: Option<(String, String)>,
    notice: Option<Notice>,
    /// When `[app]`'s secret or certificate expires soon (or has).
    expiry: Option<String>,
    /// How many tenants the filter takes, and how many of them fail.
    total: i64,
    failing_total: i64,
    /// The search text.
    q: String,
    /// Only failing tenants shown.
    only_failing: bool,
    /// Links: the failing filter on and off, the pages around.
    failing_link: String,
    all_link: String,
    previous: Option<String>,
    next: Option<String>,
    first_shown: i64,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TenantsQuery {
    /// The tenant whose sync was just asked for.
    #[serde(default)]
    queued: String,
    /// Part of a name, display name or directory.
    #[serde(default)]
    q: String,
    /// `1`: only tenants whose last sync failed.
    #[serde(default)]
    failing: String,
    /// The page, from 1.
    #[serde(default)]
    page: String,
}

/// Tenants on a page of `/tenants`.
const TENANTS_PAGE: i64 = 50;

impl TenantsQuery {
    fn failing(&self) -> bool {
        matches!(self.failing.trim(), "1" | "true")
    }

    fn page(&self) -> i64 {
        self.page
            .trim()
            .parse::<i64>()
            .unwrap_or(1)
            .clamp(1, 1_000_000)
    }

    /// This page's address with `page` (and the filters given).
    fn link(&self, page: i64, failing: bool) -> String {
        let page = if page > 1 {
            page.to_string()
        } else {
            String::new()
        };
        format!(
            "/tenants{}",
            view::query_string([
                ("q", self.q.trim()),
                ("failing", if failing { "1" } else { "" }),
                ("page", page.as_str()),
            ])
        )
    }
}

pub(crate) async fn render_tenants(
    state: &AppState,
    user: &SignedIn,
    status: StatusCode,
    notice: Option<Notice>,
    link: Option<(String, String)>,
    q: &TenantsQuery,
) -> UiResult<Response> {
    let now = state.now();
    let page = q.page();
    let params = api_tenants::TenantListParams {
        q: q.q.trim().to_owned(),
        failing: q.failing(),
        offset: (page - 1).saturating_mul(TENANTS_PAGE),
        limit: None,
    };
    let (tenants, counts) =
        api_tenants::tenants(state, &user.caller, &params, TENANTS_PAGE).await?;
    let rows: Vec<TenantRowView> = tenants.iter().map(|t| tenant_row(t, &now)).collect();
    let admin = user.caller.require(Need::Admin).is_ok();
    let expiry = match state.onboarding.as_ref().filter(|_| admin) {
        Some(o) => crate::onboard::app_expiry_warning(&o.app, &now).await,
        None => None,
    };
    let first_shown = params.offset + 1;
    html_status(
        status,
        &TenantsPage {
            layout: user.layout("Tenants", "tenants"),
            total: counts.total,
            failing_total: counts.failing,
            q: q.q.trim().to_owned(),
            only_failing: q.failing(),
            failing_link: q.link(1, true),
            all_link: q.link(1, false),
            previous: (page > 1).then(|| q.link(page - 1, q.failing())),
            next: (params.offset + (rows.len() as i64) < counts.total)
                .then(|| q.link(page + 1, q.failing())),
            first_shown,
            rows,
            can_sync: user.caller.require(Need::Configure).is_ok(),
            scheduler: state.sync_now.is_some(),
            can_onboard: admin && state.onboarding.is_some(),
            link,
            notice,
            expiry,
        },
    )
}

/// `GET /tenants`.
pub(crate) async fn tenants(
    State(state): State<AppState>,
    user: SignedIn,
    Query(q): Query<TenantsQuery>,
) -> UiResult<Response> {
    // say so only for a tenant the caller sees
    let queued = q.queued.trim();
    let notice = (!queued.is_empty() && user.caller.sees(queued)).then(|| {
        Notice::ok(format!(
            "A sync of {queued} was asked for; it starts shortly."
        ))
    });
    render_tenants(&state, &user, StatusCode::OK, notice, None, &q).await
}

/// `POST /tenants/sync`: the API's "sync now" for the form's tenant.
pub(crate) async fn sync_now(State(state): State<AppState>, form: UiForm) -> UiResult<Response> {
    let name = form.get("name").to_string();
    match api_tenants::request_sync(&state, &form.user.caller, &name).await {
        Ok(()) => Ok(Redirect::to(&format!(
            "/tenants{}",
            view::query_string([("queued", name.as_str())])
        ))
        .into_response()),
        Err(e) => {
            let (status, notice) = refusal(e)?;
            render_tenants(
                &state,
                &form.user,
                status,
                Some(notice),
                None,
                &TenantsQuery::default(),
            )
            .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_labels_start_lines_and_attributes_are_untouched() {
        let out = mark_sections(
            r#"Title: Mail delaysUser Impact: Users can't send.<a href="https://x/Current status:" title="a > Title:">Current status:</a> fixing"#,
        );
        assert_eq!(
            out,
            r#"<strong class="inc-h">Title:</strong> Mail delays<br><strong class="inc-h">User Impact:</strong> Users can't send.<a href="https://x/Current status:" title="a > Title:"><strong class="inc-h">Current status:</strong></a> fixing"#
        );
        // a label right after a tag starts its own line already
        assert_eq!(
            mark_sections("<p>Root cause: a bug</p>"),
            r#"<p><strong class="inc-h">Root cause:</strong> a bug</p>"#
        );
        assert_eq!(
            mark_sections("Preliminary root cause: x"),
            r#"<strong class="inc-h">Preliminary root cause:</strong> x"#
        );
        assert_eq!(mark_sections("nothing to mark"), "nothing to mark");
    }

    #[test]
    fn statuses_read_as_words_with_a_class() {
        assert_eq!(status_label("serviceDegradation"), "service degradation");
        assert_eq!(status_class("serviceInterruption"), "bad");
        assert_eq!(status_class("investigating"), "warn");
        assert_eq!(status_class("serviceOperational"), "ok");
        assert_eq!(status_class("somethingNew"), "warn");
    }
}
