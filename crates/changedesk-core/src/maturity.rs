//! The organisation's level, 100 to 500, in the "Service Change Management"
//! practical scenario of Microsoft's Maturity Model for Microsoft 365
//! (issue 21), read from what changedesk observes of the organisation's
//! own behaviour — never from its configuration alone.
//!
//! No IO: the caller gathers [`Observations`] (the work items of the
//! organisation, or of one tenant group, and a few counts) and [`assess`]
//! computes each criterion with its evidence, the level, and what is
//! missing for the next level. `docs/MATURITY.md` has the mapping from the
//! model's text to each criterion; in short:
//!
//! - Behaviour is read over a window, `[at − window_days, at)` (90 days by
//!   default): the items *created* in it, the reviews held in its weeks,
//!   the events counted in it.
//! - A criterion is [`Status::Met`], [`Status::NotMet`],
//!   [`Status::NotMeasured`] (changedesk cannot observe it yet: an
//!   observation that is `None`) or [`Status::NotApplicable`] (nothing in
//!   the window it could be about, e.g. no change needed a change request).
//! - The level is the highest of 100 … 500 such that every criterion of
//!   every level up to it is met or not applicable; 100 has no criteria.
//!   Not measured never counts as met.
//! - Shares are compared exactly (integers: `n × 100 ≥ d × p`); the
//!   evidence shows them with one decimal, truncated, so an unmet 89.99 %
//!   reads 89.9 %, never 90.0 %.
//! - Triage reuses [`crate::metrics`]: an item's triage decision (its
//!   `first_triaged_at`, else the close of an item closed straight from
//!   `new`), its time to triage in working days ([`WorkCalendar`]) and its
//!   target ([`SlaTargets::triage_target`]).
//!
//! [`WorkCalendar`]: crate::metrics::WorkCalendar
//! [`SlaTargets::triage_target`]: crate::metrics::SlaTargets::triage_target

use std::collections::BTreeSet;

use serde::{Serialize, Serializer};
use time::{Date, Duration};

use crate::metrics::{self, AnalyticsSettings, ItemFacts, monday_of};
use crate::timestamp::Timestamp;
use crate::triage::{Decision, State};

/// The window behaviour is read over unless told otherwise.
pub const DEFAULT_WINDOW_DAYS: i64 = 90;

/// The longest window read (20 years, [`metrics::MAX_WEEKS`] weeks); a
/// longer one is cut to it, a negative one is empty.
pub const MAX_WINDOW_DAYS: i64 = 7 * metrics::MAX_WEEKS as i64;

/// The levels, lowest first.
pub const LEVELS: [u16; 5] = [100, 200, 300, 400, 500];

/// The level's name in the model: `Initial`, `Repeatable`, `Defined`,
/// `Managed`, `Optimizing` (empty for a number that is not a level).
pub fn level_name(level: u16) -> &'static str {
    match level {
        100 => "Initial",
        200 => "Repeatable",
        300 => "Defined",
        400 => "Managed",
        500 => "Optimizing",
        _ => "",
    }
}

/// What changedesk observed of an organisation (or a tenant group).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observations {
    pub at: Timestamp,
    /// The window behaviour is read over (default 90 days).
    pub window_days: i64,
    /// The work items (crate::metrics::ItemFacts: times, state, owner,
    /// workloads, and `work` with decision, requires_change_request,
    /// tenants, …) of the organisation or tenant group assessed.
    pub items: Vec<ItemFacts>,
    /// Workloads (services) of the posts seen in the window, and those of
    /// them that an ownership entry routes to an owner.
    pub workloads_seen: Vec<String>,
    pub owned_workloads: Vec<String>,
    /// The Mondays of the weeks whose change review was recorded as held
    /// (another day counts for its ISO week; serialised as `YYYY-MM-DD`).
    #[serde(serialize_with = "date_texts")]
    pub reviews_held: Vec<Date>,
    /// Tenants in the scope assessed.
    pub tenants: usize,
    /// Rule assignments in the window (items a rule assigned) and how many
    /// of them a person then re-assigned.
    pub rule_assignments: usize,
    pub reassigned_by_people: usize,
    /// Counts of events in the window; None = not measured (changedesk
    /// cannot observe it yet). `reports_sent`: the scheduled reports (the
    /// executive report, the weekly status) delivered.
    pub reports_sent: Option<usize>,
    pub communications_measured: Option<usize>,
    pub feedback_to_microsoft: Option<usize>,
    pub preview_engagement: Option<usize>,
    pub impacts_monitored: Option<usize>,
    pub other_sources_reviewed: Option<usize>,
}

impl Observations {
    /// Nothing observed yet, at `at`, over the default window.
    pub fn new(at: Timestamp) -> Self {
        Observations {
            at,
            window_days: DEFAULT_WINDOW_DAYS,
            items: Vec::new(),
            workloads_seen: Vec::new(),
            owned_workloads: Vec::new(),
            reviews_held: Vec::new(),
            tenants: 0,
            rule_assignments: 0,
            reassigned_by_people: 0,
            reports_sent: None,
            communications_measured: None,
            feedback_to_microsoft: None,
            preview_engagement: None,
            impacts_monitored: None,
            other_sources_reviewed: None,
        }
    }
}

fn date_texts<S: Serializer>(days: &[Date], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(days.iter().map(Date::to_string))
}

/// Where a criterion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Met,
    NotMet,
    /// changedesk cannot observe it yet: never counts as met.
    NotMeasured,
    /// Nothing in the window it could be about: does not hold a level back.
    NotApplicable,
}

impl Status {
    /// Whether it lets the level rise: met or not applicable.
    pub fn passes(self) -> bool {
        matches!(self, Status::Met | Status::NotApplicable)
    }

    /// `met`, `not met`, `not measured`, `not applicable`.
    pub fn label(self) -> &'static str {
        match self {
            Status::Met => "met",
            Status::NotMet => "not met",
            Status::NotMeasured => "not measured",
            Status::NotApplicable => "not applicable",
        }
    }
}

/// One criterion of one level, as observed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criterion {
    pub level: u16,
    pub key: &'static str,
    pub label: &'static str,
    pub status: Status,
    /// what was observed, with numbers ("412 of 430 posts (95.8 %) triaged
    /// within 5 working days in the last 90 days")
    pub evidence: String,
    /// what the criterion asks ("at least 90 %")
    pub threshold: String,
}

/// The level, every criterion, and what the next level lacks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Maturity {
    pub level: u16,
    /// Every criterion of levels 200 to 500, by level.
    pub criteria: Vec<Criterion>,
    /// the criteria of the next level that are not met (empty at 500)
    pub missing_for_next: Vec<Criterion>,
}

/// Assesses the organisation (or tenant group) `obs` describes. Never
/// panics.
pub fn assess(obs: &Observations, settings: &AnalyticsSettings) -> Maturity {
    let w = Window::new(obs, settings);
    let criteria = vec![
        // 200
        w.workloads_owned(),
        w.posts_reviewed(),
        // 300
        w.triaged_within_target(),
        w.weekly_review(),
        w.status_tracked(),
        // 400
        w.time_open_reported(),
        w.change_control(),
        w.communications_measured(),
        w.other_sources(),
        // 500
        w.routing_accuracy(),
        w.deduplicated(),
        w.communications_improve(),
        w.preview_engagement(),
        w.support_readiness(),
        w.feedback_to_microsoft(),
    ];
    let mut level = 100;
    for l in LEVELS.iter().skip(1) {
        if criteria
            .iter()
            .filter(|c| c.level == *l)
            .all(|c| c.status.passes())
        {
            level = *l;
        } else {
            break;
        }
    }
    let missing_for_next = criteria
        .iter()
        .filter(|c| c.level == level.saturating_add(100) && !c.status.passes())
        .cloned()
        .collect();
    Maturity {
        level,
        criteria,
        missing_for_next,
    }
}

// ---- arithmetic of shares ----

/// Whether `n` of `d` is at least `percent` % (exact; false when `d` is 0).
fn share_at_least(n: usize, d: usize, percent: u128) -> bool {
    d > 0 && (n as u128) * 100 >= (d as u128) * percent
}

/// `n` of `d` as a percentage with one decimal, truncated: `95.8 %`.
fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        return "—".to_string();
    }
    let tenths = (n as u128) * 1000 / (d as u128);
    format!("{}.{} %", tenths / 10, tenths % 10)
}

/// A number of working days for people: `5`, `2.5`.
fn days_text(d: f64) -> String {
    if d.is_finite() && d.fract() == 0.0 {
        format!("{d:.0}")
    } else {
        format!("{d}")
    }
}

/// `1 post`, `3 posts`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// At most five names, then how many more: `A, B, C, D, E and 2 more`.
fn names(list: &[&str]) -> String {
    let shown: Vec<&str> = list.iter().take(5).copied().collect();
    let more = list.len().saturating_sub(shown.len());
    if more == 0 {
        shown.join(", ")
    } else {
        format!("{} and {more} more", shown.join(", "))
    }
}

fn met_if(met: bool) -> Status {
    if met { Status::Met } else { Status::NotMet }
}

// ---- the window ----

/// Where an item of the window stands with its triage at `at`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Triage {
    /// Triaged before `at`, within its target.
    Within,
    /// Triaged before `at`, over its target.
    Late,
    /// Triaged at a time not recorded.
    Undated,
    /// Untriaged at `at` and already over its target.
    Overdue,
    /// Untriaged at `at`, still within its target: not due yet.
    Pending,
}

impl Triage {
    fn triaged(self) -> bool {
        matches!(self, Triage::Within | Triage::Late | Triage::Undated)
    }
}

struct Window<'a> {
    obs: &'a Observations,
    settings: &'a AnalyticsSettings,
    at: Timestamp,
    /// The window's length, cut to `0..=MAX_WINDOW_DAYS`.
    days: i64,
    /// The items created in `[at − days, at)`, with their triage.
    items: Vec<(&'a ItemFacts, Triage)>,
}

impl<'a> Window<'a> {
    fn new(obs: &'a Observations, settings: &'a AnalyticsSettings) -> Self {
        let at = obs.at;
        let days = obs.window_days.clamp(0, MAX_WINDOW_DAYS);
        let from = at.saturating_add(Duration::days(-days));
        let items = obs
            .items
            .iter()
            .filter(|i| i.created_at >= from && i.created_at < at)
            .map(|i| (i, triage_at(i, settings, at)))
            .collect();
        Window {
            obs,
            settings,
            at,
            days,
            items,
        }
    }

    /// `in the last 90 days`.
    fn span(&self) -> String {
        format!("in the last {}", count(usize_of(self.days), "day", "days"))
    }

    /// The months of the window, at least one: 90 days are 3.
    fn months(&self) -> usize {
        usize_of((self.days + 15) / 30).max(1)
    }

    fn criterion(
        &self,
        level: u16,
        key: &'static str,
        label: &'static str,
        status: Status,
        evidence: String,
        threshold: String,
    ) -> Criterion {
        Criterion {
            level,
            key,
            label,
            status,
            evidence,
            threshold,
        }
    }

    // ---- 200 ----

    /// Someone owns each workload: of the distinct workloads seen in the
    /// window, at least 90 % are routed to an owner.
    fn workloads_owned(&self) -> Criterion {
        let seen: BTreeSet<&str> = trimmed(&self.obs.workloads_seen);
        let owned: BTreeSet<&str> = trimmed(&self.obs.owned_workloads);
        let unowned: Vec<&str> = seen.difference(&owned).copied().collect();
        let n = seen.len() - unowned.len();
        let d = seen.len();
        let evidence = if d == 0 {
            format!("no post seen {}", self.span())
        } else if unowned.is_empty() {
            format!(
                "all {} seen {} have an owner",
                count(d, "workload", "workloads"),
                self.span()
            )
        } else {
            format!(
                "{n} of {} seen {} ({}) have an owner; without one: {}",
                count(d, "workload", "workloads"),
                self.span(),
                pct(n, d),
                names(&unowned)
            )
        };
        self.criterion(
            200,
            "workloads_owned",
            "Someone owns each workload",
            met_if(share_at_least(n, d, 90)),
            evidence,
            "at least 90 % of the workloads of the window's posts routed to an owner".into(),
        )
    }

    /// The posts are reviewed: of the window's posts due for triage (triaged,
    /// or untriaged past their target), at least 90 % have a triage
    /// decision.
    fn posts_reviewed(&self) -> Criterion {
        let due = self.count_of(|t| t != Triage::Pending);
        let reviewed = self.count_of(Triage::triaged);
        let pending = self.count_of(|t| t == Triage::Pending);
        let mut evidence = if due == 0 {
            format!("no post was due for triage {}", self.span())
        } else {
            format!(
                "{reviewed} of {} due {} ({}) have a triage decision",
                count(due, "post", "posts"),
                self.span(),
                pct(reviewed, due)
            )
        };
        evidence.push_str(&self.pending_note(pending));
        self.criterion(
            200,
            "posts_reviewed",
            "Posts are reviewed",
            met_if(share_at_least(reviewed, due, 90)),
            evidence,
            "at least 90 % of the window's posts due for triage have a triage decision".into(),
        )
    }

    fn pending_note(&self, pending: usize) -> String {
        if pending == 0 {
            String::new()
        } else {
            format!(
                " ({} newer, still within the triage target, not counted)",
                pending
            )
        }
    }

    // ---- 300 ----

    /// Posts are reviewed in time: of the window's posts due for triage
    /// (those triaged at a time not recorded left out), at least 90 %
    /// triaged within their SLA triage target.
    fn triaged_within_target(&self) -> Criterion {
        let within = self.count_of(|t| t == Triage::Within);
        let d = self.count_of(|t| matches!(t, Triage::Within | Triage::Late | Triage::Overdue));
        let undated = self.count_of(|t| t == Triage::Undated);
        let pending = self.count_of(|t| t == Triage::Pending);
        let target = self.target_text();
        let mut evidence = if d == 0 {
            format!("no post was due for triage {}", self.span())
        } else {
            format!(
                "{within} of {} ({}) triaged within {target} {}",
                count(d, "post", "posts"),
                pct(within, d),
                self.span()
            )
        };
        evidence.push_str(&self.pending_note(pending));
        if undated > 0 {
            evidence.push_str(&format!(
                "; {} triaged at a time not recorded left out",
                count(undated, "post", "posts")
            ));
        }
        self.criterion(
            300,
            "triaged_within_target",
            "Posts triaged within the target",
            met_if(share_at_least(within, d, 90)),
            evidence,
            format!("at least 90 % of the window's posts due for triage, triaged within {target}"),
        )
    }

    /// `5 working days (2 for a major change)`.
    fn target_text(&self) -> String {
        let sla = &self.settings.sla;
        let normal = sla.triage_target(false);
        let major = sla.triage_target(true);
        let unit = if normal == 1.0 {
            "working day"
        } else {
            "working days"
        };
        if normal.to_bits() == major.to_bits() {
            format!("{} {unit}", days_text(normal))
        } else {
            format!(
                "{} {unit} ({} for a major change)",
                days_text(normal),
                days_text(major)
            )
        }
    }

    /// A weekly review happens: of the last weeks of the window (13 for 90
    /// days), at least 11 in 13 have a review recorded as held. The week
    /// under way at `at` counts (in place of the oldest) once its review is
    /// recorded, and never against.
    fn weekly_review(&self) -> Criterion {
        let weeks = usize_of((self.days + 3) / 7).min(metrics::MAX_WEEKS);
        // ⌈weeks × 11 / 13⌉
        let needed = (weeks * 11).div_ceil(13);
        let threshold = format!(
            "a review recorded as held in at least {needed} of the last {}",
            count(weeks, "week", "weeks")
        );
        let key = "weekly_review";
        let label = "A weekly review happens";
        if weeks == 0 {
            return self.criterion(
                300,
                key,
                label,
                Status::NotMet,
                "the window is shorter than a week".into(),
                threshold,
            );
        }
        let held: BTreeSet<Date> = self
            .obs
            .reviews_held
            .iter()
            .map(|d| monday_of(*d))
            .collect();
        // the week of the last instant before `at`
        let last = self.at.saturating_add(Duration::microseconds(-1));
        let current = monday_of(last.as_datetime().date());
        let mut monday = if held.contains(&current) {
            Some(current)
        } else {
            current.checked_sub(Duration::weeks(1))
        };
        let mut counted = Vec::with_capacity(weeks);
        while counted.len() < weeks {
            let Some(m) = monday else { break };
            counted.push(m);
            monday = m.checked_sub(Duration::weeks(1));
        }
        let missed: Vec<String> = counted
            .iter()
            .filter(|m| !held.contains(m))
            .map(|m| m.to_string())
            .collect();
        let n = counted.len() - missed.len();
        let mut evidence = format!(
            "{n} of the last {} had a review recorded as held",
            count(weeks, "week", "weeks")
        );
        if !missed.is_empty() {
            let refs: Vec<&str> = missed.iter().map(String::as_str).collect();
            evidence.push_str(&format!("; none in the weeks of {}", names(&refs)));
        }
        self.criterion(300, key, label, met_if(n >= needed), evidence, threshold)
    }

    /// Task status is tracked: of the window's posts that were triaged
    /// (`first_triaged_at` before `at`: found relevant, or started), at
    /// least 50 % then moved on — in progress, done or dismissed now.
    fn status_tracked(&self) -> Criterion {
        let triaged: Vec<&ItemFacts> = self
            .items
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| i.first_triaged_at.is_some_and(|t| t < self.at))
            .collect();
        let d = triaged.len();
        let n = triaged
            .iter()
            .filter(|i| i.state == State::InProgress || i.state.is_closed())
            .count();
        let evidence = if d == 0 {
            format!("no post was triaged {}", self.span())
        } else {
            format!(
                "{n} of {} triaged {} ({}) then moved on to in progress, done or dismissed",
                count(d, "post", "posts"),
                self.span(),
                pct(n, d)
            )
        };
        self.criterion(
            300,
            "status_tracked",
            "Task status is tracked",
            met_if(share_at_least(n, d, 50)),
            evidence,
            "at least 50 % of the window's triaged posts moved on to in progress, done or \
             dismissed"
                .into(),
        )
    }

    // ---- 400 ----

    /// The time tasks stay open is reported: at least one report a month.
    fn time_open_reported(&self) -> Criterion {
        self.counted(
            400,
            "time_open_reported",
            "Time open is reported",
            self.obs.reports_sent,
            self.months(),
            ("report of time open sent", "reports of time open sent"),
            "the scheduled reports delivered (the executive report, the weekly status) were not counted",
        )
    }

    /// Selected changes are brought to change control: of the window's
    /// posts marked as needing a change request (or closed with one raised)
    /// and closed, at least 80 % closed with `change_request_raised`. Not
    /// applicable when none was marked: nothing was selected.
    fn change_control(&self) -> Criterion {
        let marked: Vec<&ItemFacts> = self
            .items
            .iter()
            .map(|(i, _)| *i)
            .filter(|i| {
                i.work.requires_change_request
                    || i.work.decision == Some(Decision::ChangeRequestRaised)
            })
            .collect();
        let decided: Vec<&ItemFacts> = marked
            .iter()
            .copied()
            .filter(|i| closed_before(i, self.at))
            .collect();
        let raised = decided
            .iter()
            .filter(|i| {
                i.state == State::Done && i.work.decision == Some(Decision::ChangeRequestRaised)
            })
            .count();
        let open = marked.len() - decided.len();
        let (d, m) = (decided.len(), marked.len());
        let (status, evidence) = if m == 0 {
            (
                Status::NotApplicable,
                format!(
                    "no post {} was marked as needing a change request",
                    self.span()
                ),
            )
        } else if d == 0 {
            (
                Status::NotMet,
                format!(
                    "{} marked as needing a change request {}, none closed yet",
                    count(m, "post", "posts"),
                    self.span()
                ),
            )
        } else {
            (
                met_if(share_at_least(raised, d, 80)),
                format!(
                    "of {} marked as needing a change request {} and closed, {raised} ({}) \
                     had a change request raised{}",
                    count(d, "post", "posts"),
                    self.span(),
                    pct(raised, d),
                    if open == 0 {
                        String::new()
                    } else {
                        format!("; {open} still open")
                    }
                ),
            )
        };
        self.criterion(
            400,
            "change_control",
            "Selected changes go to change control",
            status,
            evidence,
            "at least 80 % of the closed posts marked as needing a change request closed with \
             one raised"
                .into(),
        )
    }

    /// The communications the window's posts called for: posts marked as
    /// needing one or closed as `communicated`.
    fn communications(&self) -> usize {
        self.items
            .iter()
            .filter(|(i, _)| {
                i.work.requires_communication || i.work.decision == Some(Decision::Communicated)
            })
            .count()
    }

    /// Communications are sent and measured: at least one communication's
    /// reach measured in the window; not applicable when no post called for
    /// one and none was measured.
    fn communications_measured(&self) -> Criterion {
        let key = "communications_measured";
        let label = "Communications are sent and measured";
        let threshold = "at least one communication measured in the window".to_string();
        let comms = self.communications();
        let Some(n) = self.obs.communications_measured else {
            return self.criterion(
                400,
                key,
                label,
                Status::NotMeasured,
                format!(
                    "not measured: changedesk does not measure communications yet \
                     (communication tracking will); {} {} called for one",
                    count(comms, "post", "posts"),
                    self.span()
                ),
                threshold,
            );
        };
        let status = if n == 0 && comms == 0 {
            Status::NotApplicable
        } else {
            met_if(n >= 1)
        };
        let evidence = format!(
            "{} measured {}; {} called for one",
            count(n, "communication", "communications"),
            self.span(),
            count(comms, "post", "posts")
        );
        self.criterion(400, key, label, status, evidence, threshold)
    }

    /// Horizon scanning: other sources of change (roadmap, Book of News,
    /// briefings) reviewed at least once a month.
    fn other_sources(&self) -> Criterion {
        self.counted(
            400,
            "other_sources",
            "Other sources of change are reviewed",
            self.obs.other_sources_reviewed,
            self.months(),
            ("review of another source", "reviews of other sources"),
            "changedesk does not record reviews of the roadmap or other sources yet",
        )
    }

    // ---- 500 ----

    /// The solution knows who owns what: at least 10 rule assignments in the
    /// window, at least 80 % of them kept (not re-assigned by a person).
    fn routing_accuracy(&self) -> Criterion {
        let a = self.obs.rule_assignments;
        let r = self.obs.reassigned_by_people.min(a);
        let kept = a - r;
        let (status, evidence) = if a < 10 {
            (
                Status::NotMet,
                if a == 0 {
                    format!("no rule assignment {}: too few to judge", self.span())
                } else {
                    format!(
                        "only {} {}: too few to judge",
                        count(a, "rule assignment", "rule assignments"),
                        self.span()
                    )
                },
            )
        } else {
            (
                met_if(share_at_least(kept, a, 80)),
                format!(
                    "{kept} of {a} rule assignments {} ({}) kept; {r} re-assigned by a person",
                    self.span(),
                    pct(kept, a)
                ),
            )
        };
        self.criterion(
            500,
            "routing_accuracy",
            "Routing is accurate",
            status,
            evidence,
            "at least 10 rule assignments in the window, at least 80 % not re-assigned by a \
             person"
                .into(),
        )
    }

    /// Processes are streamlined across tenants: each post several tenants
    /// see is one work item, triaged once for all of them. Not applicable
    /// with fewer than 2 tenants, or when no post of the window was seen by
    /// 2 or more.
    fn deduplicated(&self) -> Criterion {
        let key = "deduplicated";
        let label = "Changes are triaged once across tenants";
        let threshold =
            "posts seen by several tenants triaged once for all (at least one observed)"
                .to_string();
        let tenants = self.obs.tenants;
        if tenants < 2 {
            return self.criterion(
                500,
                key,
                label,
                Status::NotApplicable,
                format!(
                    "{} in scope: nothing to deduplicate",
                    count(tenants, "tenant", "tenants")
                ),
                threshold,
            );
        }
        let shared: Vec<&(&ItemFacts, Triage)> = self
            .items
            .iter()
            .filter(|(i, _)| i.work.tenants >= 2)
            .collect();
        if shared.is_empty() {
            return self.criterion(
                500,
                key,
                label,
                Status::NotApplicable,
                format!(
                    "no post {} was seen by 2 or more of the {tenants} tenants",
                    self.span()
                ),
                threshold,
            );
        }
        let triaged: Vec<&ItemFacts> = shared
            .iter()
            .filter(|(_, t)| t.triaged())
            .map(|(i, _)| *i)
            .collect();
        let saved = triaged
            .iter()
            .fold(0usize, |s, i| s.saturating_add(i.work.tenants - 1));
        let evidence = format!(
            "{} seen by 2 or more of the {tenants} tenants {}, each one work item; {} of them \
             triaged once for all their tenants ({} saved)",
            count(shared.len(), "post", "posts"),
            self.span(),
            triaged.len(),
            count(saved, "triage", "triages")
        );
        self.criterion(
            500,
            key,
            label,
            met_if(!triaged.is_empty()),
            evidence,
            threshold,
        )
    }

    /// Communications are measured to improve them: measured for at least
    /// 80 % of the communications the window's posts called for; not
    /// applicable when none called for one.
    fn communications_improve(&self) -> Criterion {
        let key = "communications_improve";
        let label = "Communications are measured to improve them";
        let threshold =
            "measured for at least 80 % of the communications the window's posts called for"
                .to_string();
        let comms = self.communications();
        let Some(n) = self.obs.communications_measured else {
            return self.criterion(
                500,
                key,
                label,
                Status::NotMeasured,
                "not measured: changedesk does not measure communications yet (communication \
                 tracking will)"
                    .into(),
                threshold,
            );
        };
        let (status, evidence) = if comms == 0 {
            (
                Status::NotApplicable,
                format!("no post {} called for a communication", self.span()),
            )
        } else {
            let m = n.min(comms);
            (
                met_if(share_at_least(m, comms, 80)),
                format!(
                    "{} measured for {} that called for one {} ({})",
                    count(n, "communication", "communications"),
                    count(comms, "post", "posts"),
                    self.span(),
                    pct(m, comms)
                ),
            )
        };
        self.criterion(500, key, label, status, evidence, threshold)
    }

    /// Staff across the business take part in previews.
    fn preview_engagement(&self) -> Criterion {
        self.counted(
            500,
            "preview_engagement",
            "Staff engage in previews",
            self.obs.preview_engagement,
            1,
            ("pilot finding", "pilot findings"),
            "changedesk does not record preview (Insider, targeted release) participation yet",
        )
    }

    /// Impacts are monitored after changes land, and support is ready for
    /// them: at least once a month.
    fn support_readiness(&self) -> Criterion {
        self.counted(
            500,
            "support_readiness",
            "Impacts are monitored, support is ready",
            self.obs.impacts_monitored,
            self.months(),
            ("impact review", "impact reviews"),
            "changedesk does not record the monitoring of changes' impacts yet",
        )
    }

    /// The organisation gives Microsoft feedback on its changes.
    fn feedback_to_microsoft(&self) -> Criterion {
        self.counted(
            500,
            "feedback_to_microsoft",
            "Feedback is given to Microsoft",
            self.obs.feedback_to_microsoft,
            1,
            (
                "feedback item sent to Microsoft",
                "feedback items sent to Microsoft",
            ),
            "changedesk does not record feedback given to Microsoft yet",
        )
    }

    /// A criterion read from a count of events in the window: not measured
    /// while `None`, met from `needed` events.
    #[allow(clippy::too_many_arguments)]
    fn counted(
        &self,
        level: u16,
        key: &'static str,
        label: &'static str,
        value: Option<usize>,
        needed: usize,
        (one, many): (&str, &str),
        why_not: &str,
    ) -> Criterion {
        let threshold = if needed <= 1 {
            format!("at least one {one} in the window")
        } else {
            format!(
                "at least one {one} per month of the window ({needed} {})",
                self.span()
            )
        };
        let (status, evidence) = match value {
            None => (Status::NotMeasured, format!("not measured: {why_not}")),
            Some(n) => (
                met_if(n >= needed),
                format!("{} {}", count(n, one, many), self.span()),
            ),
        };
        self.criterion(level, key, label, status, evidence, threshold)
    }

    fn count_of(&self, f: impl Fn(Triage) -> bool) -> usize {
        self.items.iter().filter(|(_, t)| f(*t)).count()
    }
}

/// Where `item` stands with its triage at `at`.
fn triage_at(item: &ItemFacts, settings: &AnalyticsSettings, at: Timestamp) -> Triage {
    let cal = &settings.calendar;
    let target = settings.sla.triage_target(item.major);
    match metrics::triage_decision(item) {
        Some(None) => Triage::Undated,
        Some(Some(t)) if t < at => {
            if cal.working_days(item.created_at, t) <= target {
                Triage::Within
            } else {
                Triage::Late
            }
        }
        // untriaged, or triaged at or after `at`: untriaged at `at`
        _ => {
            if cal.working_days(item.created_at, at) > target {
                Triage::Overdue
            } else {
                Triage::Pending
            }
        }
    }
}

/// Whether `item` was closed before `at` (at a time not recorded counts).
fn closed_before(item: &ItemFacts, at: Timestamp) -> bool {
    item.state.is_closed() && item.closed_at.is_none_or(|c| c < at)
}

/// The names given, trimmed, blank ones left out, each once.
fn trimmed(list: &[String]) -> BTreeSet<&str> {
    list.iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect()
}

fn usize_of(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests;
