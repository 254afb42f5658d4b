//! Service health issues (`serviceHealthIssue`): creating one and moving it
//! through its lifecycle (investigating, serviceDegradation,
//! restoringService, ..., serviceRestored, postIncidentReviewPublished).
//!
//! An issue's state lives entirely in its JSON: the status, the posts and
//! their times. Wording and the waits between posts are derived from the
//! issue id, so any later step (in `generate` or in `advance`) rebuilds the
//! same text and schedule; only the status transitions draw from the
//! caller's RNG.

use rand::Rng;
use serde_json::{Value, json};

use crate::clock::{self, MS_PER_DAY, MS_PER_HOUR, MS_PER_MIN, MS_PER_SEC, health_time, iso};
use crate::rng::{SimRng, mix, stream, unit};
use crate::vocab::{
    DEGRADED, EXTENDED, FINAL, FINAL_NOTE, HEALTH_SERVICES, HealthService, INVESTIGATING,
    NEXT_STEPS, RESTORING, ROOT_CAUSES, SCOPES, SUSPENDED, Scenario, VERIFYING,
};

/// Issue number for an issue starting at `t`; ids grow with time across
/// all prefixes (EX1234567, TM1234568, ...).
pub(crate) fn issue_number_at(t: i64) -> u64 {
    const ANCHOR_MS: i64 = 1_787_356_800_000; // 2026-08-22T00:00:00Z
    let per_id = MS_PER_DAY / 450;
    (1_150_000 + (t - ANCHOR_MS).div_euclid(per_id)).clamp(100_000, 9_999_999) as u64
}

/// Statuses an issue can be in while open, most severe first; the rank
/// decides a service's `healthOverviews` status.
pub(crate) const OPEN_SEVERITY: &[&str] = &[
    "serviceInterruption",
    "serviceDegradation",
    "restoringService",
    "extendedRecovery",
    "investigating",
    "verifyingService",
    "investigationSuspended",
];

pub(crate) fn is_resolved_status(status: &str) -> bool {
    matches!(
        status,
        "serviceRestored" | "postIncidentReviewPublished" | "falsePositive"
    )
}

fn health_service(name: &str) -> Option<&'static HealthService> {
    HEALTH_SERVICES.iter().find(|h| h.name == name)
}

pub(crate) fn issue_number(id: &str) -> Option<u64> {
    let digits = id.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    digits.parse().ok()
}

/// Text choices fixed by the issue id.
struct Profile {
    scenario: &'static Scenario,
    scope: &'static str,
    root_cause: &'static str,
    next_step: &'static str,
    final_status: &'static str,
}

fn profile(hs: &'static HealthService, num: u64) -> Option<Profile> {
    if hs.scenarios.is_empty() {
        return None;
    }
    let h = |k: u64| mix(&[stream::ISSUE, num, k]) as usize;
    Some(Profile {
        scenario: &hs.scenarios[h(1) % hs.scenarios.len()],
        scope: SCOPES[h(2) % SCOPES.len()],
        root_cause: ROOT_CAUSES[h(3) % ROOT_CAUSES.len()],
        next_step: NEXT_STEPS[h(3) % ROOT_CAUSES.len() % NEXT_STEPS.len()],
        final_status: FINAL[h(5) % FINAL.len()],
    })
}

/// Whether a restored incident later gets a post-incident review.
fn gets_pir(num: u64, classification: &str) -> bool {
    classification == "incident" && unit(mix(&[stream::ISSUE, num, 6])) < 0.5
}

/// Wait before post number `k` (0-based), given the status after post
/// `k - 1`. Depends only on the id, so it can be recomputed at any time.
fn wait_before(num: u64, k: usize, status: &str, classification: &str) -> i64 {
    let h = mix(&[stream::ISSUE_STEP, num, k as u64]);
    let span = |lo: i64, hi: i64| lo + (h % ((hi - lo).max(1) as u64)) as i64;
    let incident = classification == "incident";
    let base = match status {
        "investigating" => span(20 * MS_PER_MIN, 60 * MS_PER_MIN),
        "serviceInterruption" => span(30 * MS_PER_MIN, 90 * MS_PER_MIN),
        "serviceDegradation" if incident => span(MS_PER_HOUR, 4 * MS_PER_HOUR),
        "serviceDegradation" => span(8 * MS_PER_HOUR, 2 * MS_PER_DAY),
        "restoringService" if incident => span(MS_PER_HOUR, 6 * MS_PER_HOUR),
        "restoringService" => span(6 * MS_PER_HOUR, 36 * MS_PER_HOUR),
        "extendedRecovery" => span(6 * MS_PER_HOUR, 2 * MS_PER_DAY),
        "verifyingService" => span(MS_PER_HOUR, 8 * MS_PER_HOUR),
        "investigationSuspended" => span(MS_PER_DAY, 3 * MS_PER_DAY),
        "serviceRestored" => span(2 * MS_PER_DAY, 6 * MS_PER_DAY),
        _ => span(MS_PER_HOUR, 4 * MS_PER_HOUR),
    };
    base + ((h >> 40) % 60_000) as i64
}

fn pick_text(pool: &'static [&'static str], num: u64, k: usize) -> &'static str {
    pool[(mix(&[stream::ISSUE_STEP, num, k as u64, 1]) % pool.len() as u64) as usize]
}

/// Creates an issue whose first post is at `first_post` and whose impact
/// started a little earlier; returns None for a service without scenarios.
pub(crate) fn new_issue(
    rng: &mut SimRng,
    hs: &'static HealthService,
    num: u64,
    first_post: i64,
) -> Option<Value> {
    let p = profile(hs, num)?;
    let incident_p = if p.scenario.severe { 0.75 } else { 0.2 };
    let classification = if rng.random::<f64>() < incident_p {
        "incident"
    } else {
        "advisory"
    };
    let r: f64 = rng.random();
    let origin = if r < 0.9 {
        "microsoft"
    } else if r < 0.97 {
        "thirdParty"
    } else {
        "customer"
    };
    let lead = (10 + (mix(&[stream::ISSUE, num, 7]) % 50) as i64) * MS_PER_MIN;
    let start = {
        let s = first_post - lead;
        s - s.rem_euclid(MS_PER_MIN)
    };
    let status = if classification == "advisory" && rng.random::<f64>() < 0.4 {
        "serviceDegradation"
    } else {
        "investigating"
    };
    let first = if status == "investigating" {
        format!(
            "Title: {t}User Impact: {t}.Current status: {s}",
            t = p.scenario.open,
            s = INVESTIGATING[0].replace("{service}", hs.name)
        )
    } else {
        open_post(&p, status, num, 0, start, first_post, classification)
    };
    Some(json!({
        "startDateTime": iso(start),
        "endDateTime": null,
        "lastModifiedDateTime": iso(first_post),
        "title": p.scenario.open,
        "id": format!("{}{num}", hs.prefix),
        "impactDescription": format!("{}.", p.scenario.open),
        "classification": classification,
        "origin": origin,
        "status": status,
        "service": hs.name,
        "feature": p.scenario.feature,
        "featureGroup": p.scenario.feature_group,
        "isResolved": false,
        "highImpact": null,
        "details": [],
        "posts": [post(first_post, first)],
    }))
}

fn post(at: i64, content: String) -> Value {
    json!({
        "createdDateTime": iso(at),
        "postType": "regular",
        "description": {"contentType": "html", "content": content},
    })
}

fn open_post(
    p: &Profile,
    status: &str,
    num: u64,
    k: usize,
    start: i64,
    at: i64,
    classification: &str,
) -> String {
    let pool: &'static [&'static str] = match status {
        "serviceDegradation" | "serviceInterruption" => DEGRADED,
        "restoringService" => RESTORING,
        "extendedRecovery" => EXTENDED,
        "verifyingService" => VERIFYING,
        "investigationSuspended" => SUSPENDED,
        _ => &INVESTIGATING[1..],
    };
    let next = at + wait_before(num, k + 1, status, classification);
    format!(
        "Title: {t}User Impact: {t}.More info: {m}Current status: {c}Scope of impact: {s}Start time: {st}Next update by: {n}",
        t = p.scenario.open,
        m = p.scenario.more_info,
        c = pick_text(pool, num, k),
        s = p.scope,
        st = health_time(start),
        n = health_time(round_up_half_hour(next)),
    )
}

fn round_up_half_hour(t: i64) -> i64 {
    let step = 30 * MS_PER_MIN;
    (t + step - 1).div_euclid(step) * step
}

fn next_status(rng: &mut SimRng, status: &str, classification: &str, posts: usize) -> &'static str {
    let incident = classification == "incident";
    let table: &[(&'static str, f64)] = match status {
        "investigating" if incident => &[
            ("serviceDegradation", 0.35),
            ("serviceInterruption", 0.3),
            ("restoringService", 0.1),
            ("falsePositive", 0.07),
            ("investigationSuspended", 0.03),
            ("investigating", 0.15),
        ],
        "investigating" => &[
            ("serviceDegradation", 0.6),
            ("restoringService", 0.1),
            ("falsePositive", 0.08),
            ("investigationSuspended", 0.04),
            ("investigating", 0.18),
        ],
        "serviceInterruption" => &[
            ("restoringService", 0.45),
            ("serviceDegradation", 0.15),
            ("serviceInterruption", 0.25),
            ("serviceRestored", 0.15),
        ],
        "serviceDegradation" => &[
            ("restoringService", 0.35),
            ("extendedRecovery", 0.1),
            ("verifyingService", 0.05),
            ("serviceDegradation", 0.35),
            ("serviceRestored", 0.15),
        ],
        "restoringService" => &[
            ("verifyingService", 0.25),
            ("extendedRecovery", 0.2),
            ("serviceRestored", 0.35),
            ("restoringService", 0.2),
        ],
        "extendedRecovery" => &[("serviceRestored", 0.45), ("extendedRecovery", 0.55)],
        "verifyingService" => &[("serviceRestored", 0.75), ("verifyingService", 0.25)],
        "investigationSuspended" => &[
            ("investigating", 0.3),
            ("serviceRestored", 0.4),
            ("investigationSuspended", 0.3),
        ],
        _ => &[("serviceRestored", 1.0)],
    };
    // Long-running issues wind down.
    if posts > 14 && rng.random::<f64>() < 0.5 {
        return "serviceRestored";
    }
    let mut r: f64 = rng.random();
    for (s, p) in table {
        if r < *p {
            return s;
        }
        r -= p;
    }
    table[table.len() - 1].0
}

/// Whether the issue will never change again.
pub(crate) fn is_final(issue: &Value) -> bool {
    let status = issue["status"].as_str().unwrap_or("");
    match status {
        "falsePositive" | "postIncidentReviewPublished" => true,
        "serviceRestored" => {
            let num = issue["id"].as_str().and_then(issue_number).unwrap_or(0);
            !gets_pir(num, issue["classification"].as_str().unwrap_or(""))
        }
        _ => false,
    }
}

/// Moves an issue forward in time up to `to`, appending one post per step.
pub(crate) fn progress_issue(rng: &mut SimRng, issue: &mut Value, to: i64) {
    let Some(id) = issue["id"].as_str().map(str::to_owned) else {
        return;
    };
    let Some(num) = issue_number(&id) else {
        return;
    };
    let Some(hs) = issue["service"].as_str().and_then(health_service) else {
        return;
    };
    let Some(p) = profile(hs, num) else {
        return;
    };
    let classification = issue["classification"]
        .as_str()
        .unwrap_or("advisory")
        .to_owned();
    let start = issue["startDateTime"]
        .as_str()
        .and_then(clock::parse_ms)
        .unwrap_or(to);
    loop {
        if is_final(issue) {
            return;
        }
        let status = issue["status"]
            .as_str()
            .unwrap_or("investigating")
            .to_owned();
        let k = issue["posts"].as_array().map_or(0, Vec::len);
        let last = issue["posts"]
            .as_array()
            .and_then(|a| a.last())
            .and_then(|p| p["createdDateTime"].as_str())
            .and_then(clock::parse_ms)
            .unwrap_or(start);
        let at = last + wait_before(num, k, &status, &classification);
        if at > to {
            return;
        }
        let next = if status == "serviceRestored" {
            "postIncidentReviewPublished"
        } else {
            next_status(rng, &status, &classification, k)
        };
        let content = match next {
            "postIncidentReviewPublished" => {
                "A post-incident report has been published.".to_owned()
            }
            "serviceRestored" => {
                let end = {
                    let e = at - (5 + (mix(&[stream::ISSUE, num, 8]) % 40) as i64) * MS_PER_MIN;
                    (e - e.rem_euclid(MS_PER_MIN)).max(start)
                };
                issue["endDateTime"] = Value::String(iso(end));
                issue["title"] = Value::String(p.scenario.resolved.to_owned());
                issue["impactDescription"] = Value::String(format!("{}.", p.scenario.resolved));
                let closing = if gets_pir(num, &classification) {
                    "We'll publish a post-incident report within five business days."
                } else {
                    "This is the final update for the event."
                };
                format!(
                    "Title: {t}User Impact: {t}.More info: {m}Final status: {f}Scope of impact: {s}Start time: {st}End time: {et}Root cause: {rc}Next steps:- {ns}{c}",
                    t = p.scenario.resolved,
                    m = p.scenario.more_info,
                    f = p.final_status,
                    s = p.scope,
                    st = health_time(start),
                    et = health_time(end),
                    rc = p.root_cause,
                    ns = p.next_step,
                    c = closing,
                )
            }
            "falsePositive" => {
                let end = at - at.rem_euclid(MS_PER_MIN);
                issue["endDateTime"] = Value::String(iso(end));
                format!(
                    "Title: {t}User Impact: {t}.Final status: {f}",
                    t = p.scenario.open,
                    f = FINAL_NOTE,
                )
            }
            s => open_post(&p, s, num, k, start, at, &classification),
        };
        issue["status"] = Value::String(next.to_owned());
        issue["isResolved"] = Value::Bool(is_resolved_status(next));
        issue["lastModifiedDateTime"] = Value::String(iso(at));
        if let Some(posts) = issue["posts"].as_array_mut() {
            posts.push(post(at, content));
        }
    }
}

/// Picks a time within `[from, to]` for a new issue's first post with
/// a random millisecond part.
pub(crate) fn first_post_time(rng: &mut SimRng, from: i64, to: i64) -> i64 {
    let t = if to > from {
        rng.random_range(from..=to)
    } else {
        to
    };
    (t - t.rem_euclid(MS_PER_SEC) + rng.random_range(0..MS_PER_SEC)).min(to)
}
