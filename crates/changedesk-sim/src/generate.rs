//! The public generator API: corpus generation, tenant views and the
//! passage of time.

use rand::Rng;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::clock::{MS_PER_DAY, MS_PER_HOUR, from_ms, parse_ms, to_ms};
use crate::issue::{
    OPEN_SEVERITY, first_post_time, is_final, issue_number, issue_number_at, new_issue,
    progress_issue,
};
use crate::message::{
    PostContext, SHARED_VIEW, build_message, edit_message, mc_number_at, refresh_feature_status,
    sample_start,
};
use crate::rng::{chance, mix, par_map, rng_for, stream, unit, weighted};
use crate::vocab::HEALTH_SERVICES;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusSpec {
    /// Number of Message Center posts (`serviceUpdateMessage`).
    pub posts: usize,
    /// Number of service health issues (`serviceHealthIssue`).
    pub issues: usize,
    /// Number of simulated tenants; informational, the tenant views take
    /// any index.
    pub tenants: usize,
    /// Seed of every random choice; the same spec always yields the same
    /// corpus.
    pub seed: u64,
    /// Fraction of posts (and issues) each tenant sees, drawn independently
    /// per tenant, so two tenants share about `coverage²` of the posts.
    pub coverage: f64,
    /// "Now" of the corpus: every post is published and last modified at or
    /// before it and expires after it. The wall clock is never read.
    pub base_time: OffsetDateTime,
}

impl Default for CorpusSpec {
    fn default() -> Self {
        CorpusSpec {
            posts: 1000,
            issues: 40,
            tenants: 3,
            seed: 1,
            coverage: 0.85,
            base_time: datetime!(2026-08-22 00:00:00 UTC),
        }
    }
}

/// A generated corpus: the union of all posts and issues, as Graph JSON
/// values (`GET /admin/serviceAnnouncement/messages` and `.../issues` items).
#[derive(Debug, Clone, PartialEq)]
pub struct Corpus {
    /// The spec it was generated from. After [`advance`], `base_time` is the
    /// new "now" and `posts`/`issues` are the current counts.
    pub spec: CorpusSpec,
    /// Posts in ascending id (and publication) order.
    pub messages: Vec<Value>,
    /// Issues in ascending start order.
    pub issues: Vec<Value>,
}

/// Generates a corpus. Deterministic: the same spec gives identical JSON.
pub fn generate(spec: &CorpusSpec) -> Corpus {
    let base = to_ms(spec.base_time);
    let seed = spec.seed;

    let mut layout = rng_for(&[stream::LAYOUT, seed]);
    let mut starts: Vec<i64> = (0..spec.posts)
        .map(|_| sample_start(&mut layout, base))
        .collect();
    starts.sort_unstable();
    let mut prev = 0u64;
    let layout: Vec<(u64, i64)> = starts
        .iter()
        .map(|&start| {
            let id = mc_number_at(start).max(prev + 1);
            prev = id;
            (id, start)
        })
        .collect();
    let messages = par_map(&layout, |&(id, start)| {
        let mut rng = rng_for(&[stream::MESSAGE, seed, id]);
        build_message(
            &mut rng,
            &PostContext {
                seed,
                id,
                start,
                base,
            },
        )
    });

    let mut layout = rng_for(&[stream::ISSUE_LAYOUT, seed]);
    let mut firsts: Vec<i64> = (0..spec.issues)
        .map(|_| {
            let window = if chance(&mut layout, 0.35) {
                3 * MS_PER_DAY
            } else {
                30 * MS_PER_DAY
            };
            first_post_time(&mut layout, base - window, base)
        })
        .collect();
    firsts.sort_unstable();
    let issues = make_issues(seed, &firsts, 0, base, stream::ISSUE);

    Corpus {
        spec: spec.clone(),
        messages,
        issues,
    }
}

/// Creates one issue per first-post time (sorted ascending), numbered above
/// `after`, and runs each forward to `now`.
fn make_issues(seed: u64, firsts: &[i64], after: u64, now: i64, purpose: u64) -> Vec<Value> {
    let weights: Vec<(usize, u32)> = HEALTH_SERVICES
        .iter()
        .enumerate()
        .map(|(i, h)| (i, h.weight))
        .collect();
    let mut prev = after;
    let mut out = Vec::with_capacity(firsts.len());
    for &first in firsts {
        let num = issue_number_at(first).max(prev + 1);
        prev = num;
        let mut rng = rng_for(&[purpose, seed, num]);
        let hs = &HEALTH_SERVICES[weighted(&mut rng, &weights)];
        if let Some(mut issue) = new_issue(&mut rng, hs, num, first) {
            progress_issue(&mut rng, &mut issue, now);
            out.push(issue);
        }
    }
    out
}

pub(crate) fn mc_number(msg: &Value) -> Option<u64> {
    msg["id"].as_str()?.strip_prefix("MC")?.parse().ok()
}

pub(crate) fn sees(seed: u64, purpose: u64, t: usize, id: u64, coverage: f64) -> bool {
    unit(mix(&[purpose, seed, t as u64, id])) < coverage
}

/// The posts tenant `t` (0-based) sees: a deterministic subset of about
/// `coverage` of all posts, overlapping between tenants, each with that
/// tenant's own `FeatureStatusJson` (rollout status per platform differs by
/// tenant and moves on as `base_time` advances); every other field is the
/// shared one.
pub fn tenant_messages(corpus: &Corpus, t: usize) -> Vec<Value> {
    let seed = corpus.spec.seed;
    let now = to_ms(corpus.spec.base_time);
    let visible: Vec<&Value> = corpus
        .messages
        .iter()
        .filter(|m| {
            mc_number(m).is_some_and(|id| sees(seed, stream::VISIBLE, t, id, corpus.spec.coverage))
        })
        .collect();
    par_map(&visible, |m| {
        let mut m = (*m).clone();
        refresh_feature_status(&mut m, seed, t as u64, now);
        m
    })
}

/// The issues tenant `t` sees: a deterministic subset of about `coverage`.
pub fn tenant_issues(corpus: &Corpus, t: usize) -> Vec<Value> {
    let seed = corpus.spec.seed;
    corpus
        .issues
        .iter()
        .filter(|i| {
            i["id"]
                .as_str()
                .and_then(issue_number)
                .is_some_and(|n| sees(seed, stream::ISSUE_VISIBLE, t, n, corpus.spec.coverage))
        })
        .cloned()
        .collect()
}

/// `healthOverviews` for tenant `t`: one `{id, service, status}` per
/// workload; the status is that of the tenant's most severe open issue for
/// the service, or `serviceOperational`.
pub fn tenant_health_overviews(corpus: &Corpus, t: usize) -> Vec<Value> {
    let issues = tenant_issues(corpus, t);
    HEALTH_SERVICES
        .iter()
        .map(|hs| {
            let status = issues
                .iter()
                .filter(|i| i["service"] == hs.name)
                .filter_map(|i| i["status"].as_str())
                .filter_map(|s| OPEN_SEVERITY.iter().position(|o| *o == s))
                .min()
                .map_or("serviceOperational", |rank| OPEN_SEVERITY[rank]);
            json!({"id": hs.id, "service": hs.name, "status": status})
        })
        .collect()
}

/// Chance that a post published `age_ms` before the window is edited
/// during `days` days: recent posts are revised far more often than old
/// ones (about 2.9 % a day when new, 0.4 % a day when a year old).
fn edit_chance(age_ms: i64, days: u32) -> f64 {
    let age_days = age_ms.max(0) as f64 / MS_PER_DAY as f64;
    let per_day = 0.004 + 0.025 * (-age_days / 60.0).exp();
    1.0 - (1.0 - per_day).powf(f64::from(days))
}

/// The chance that a new post is listed late (see [`advance`]).
pub const LATE_POST_CHANCE: f64 = 1.0 / 300.0;

/// Lets `days` pass: returns the corpus as it looks at `base_time + days`.
///
/// - Some posts are edited: `lastModifiedDateTime` moves into the new
///   window (strictly later than before), the title gains "(Updated) ",
///   the tags "Updated message", the dates in the "[When this will
///   happen:]" section and the Summary move later (with "(previously ...)"
///   notes), and sometimes `actionRequiredByDateTime` and `endDateTime`
///   move too.
/// - New posts are published in the window, with higher MC ids; about one
///   in 300 (`LATE_POST_CHANCE`) appears late: it is new to the listing
///   but dated 1 hour to 3 days before the window, older than posts already
///   listed, so a `lastModifiedDateTime ge …` listing never returns it.
/// - Posts whose `endDateTime` is before the new "now" are gone.
/// - Open issues progress (new posts appended, status and `isResolved`
///   updated), new issues appear, and issues resolved more than 30 days
///   before the new "now" drop out of the feed.
///
/// Deterministic in (`corpus`, `days`, `seed`).
pub fn advance(corpus: &Corpus, days: u32, seed: u64) -> Corpus {
    let spec_seed = corpus.spec.seed;
    let from = to_ms(corpus.spec.base_time);
    let to = from + i64::from(days) * MS_PER_DAY;
    let window = from as u64;

    let max_id = corpus
        .messages
        .iter()
        .filter_map(mc_number)
        .max()
        .unwrap_or(0);
    let mut messages: Vec<Value> = par_map(&corpus.messages, |m| {
        let id = mc_number(m).unwrap_or(0);
        let mut m = m.clone();
        if days > 0 {
            let mut rng = rng_for(&[stream::ADVANCE_EDIT, seed, window, id]);
            let start = m["startDateTime"]
                .as_str()
                .and_then(parse_ms)
                .unwrap_or(from);
            if chance(&mut rng, edit_chance(from - start, days)) {
                edit_message(&mut rng, &mut m, from, to);
            }
        }
        let end = m["endDateTime"].as_str().and_then(parse_ms);
        if end.is_some_and(|e| e < to) {
            return None;
        }
        refresh_feature_status(&mut m, spec_seed, SHARED_VIEW, to);
        Some(m)
    })
    .into_iter()
    .flatten()
    .collect();

    if days > 0 {
        let mut rng = rng_for(&[stream::ADVANCE_NEW, seed, window]);
        let rate = (corpus.messages.len() as f64 / 125.0).max(0.5);
        let n = (rate * f64::from(days) * rng.random_range(0.8..1.2)).round() as usize;
        let mut starts: Vec<i64> = (0..n)
            .map(|_| first_post_time(&mut rng, from + 1, to))
            .collect();
        starts.sort_unstable();
        let mut prev = max_id;
        for start in starts {
            let id = mc_number_at(start).max(prev + 1);
            prev = id;
            // about one new post in 300 is listed late: it appears only now,
            // dated (published and last modified) before posts already
            // listed, as seen in real Graph history
            let mut late = rng_for(&[stream::ADVANCE_LATE, seed, window, id]);
            let is_late = chance(&mut late, LATE_POST_CHANCE);
            let start = if is_late {
                from - late.random_range(MS_PER_HOUR..3 * MS_PER_DAY)
            } else {
                start
            };
            let mut rng = rng_for(&[stream::ADVANCE_NEW, seed, window, id]);
            let mut post = build_message(
                &mut rng,
                &PostContext {
                    seed: spec_seed,
                    id,
                    start,
                    base: to,
                },
            );
            if is_late {
                // last modified a minute after publication, before the window
                post["lastModifiedDateTime"] = Value::String(crate::clock::iso(start + 60_000));
            }
            messages.push(post);
        }
    }

    let mut issues = Vec::with_capacity(corpus.issues.len());
    let mut max_issue = 0u64;
    let keep_after = to - 30 * MS_PER_DAY;
    for issue in &corpus.issues {
        let num = issue["id"].as_str().and_then(issue_number).unwrap_or(0);
        max_issue = max_issue.max(num);
        let mut issue = issue.clone();
        if !is_final(&issue) {
            let mut rng = rng_for(&[stream::ADVANCE_ISSUE, seed, window, num]);
            progress_issue(&mut rng, &mut issue, to);
        }
        let ended = issue["endDateTime"].as_str().and_then(parse_ms);
        if issue["isResolved"] == true && ended.is_some_and(|e| e < keep_after) {
            continue;
        }
        issues.push(issue);
    }
    if days > 0 {
        let mut rng = rng_for(&[stream::ADVANCE_NEW_ISSUE, seed, window]);
        let rate = (corpus.issues.len().max(1) as f64) / 30.0;
        let n = (rate * f64::from(days) * rng.random_range(0.7..1.3)).round() as usize;
        let mut firsts: Vec<i64> = (0..n)
            .map(|_| first_post_time(&mut rng, from + MS_PER_HOUR.min(to - from), to))
            .collect();
        firsts.sort_unstable();
        let purpose = mix(&[stream::ADVANCE_NEW_ISSUE, seed, window]);
        issues.extend(make_issues(spec_seed, &firsts, max_issue, to, purpose));
    }

    Corpus {
        spec: CorpusSpec {
            posts: messages.len(),
            issues: issues.len(),
            base_time: from_ms(to),
            ..corpus.spec.clone()
        },
        messages,
        issues,
    }
}

/// The stream of [`publish`]'s choices (kept apart from `advance`'s).
const PUBLISH_STREAM: u64 = 0x5055_4231;

/// An exact amount of news, for benchmarks: returns the corpus as it looks
/// at `to` (later than `base_time`; one second later if it is not) after
/// exactly `new` posts were published and exactly `updates` live posts
/// were edited (all of them if there are fewer), both within
/// (`base_time`, `to`].
///
/// - The posts to edit are chosen at random (deterministically in `seed`)
///   and edited as [`advance`] edits: a later `lastModifiedDateTime`,
///   "(Updated) ", moved rollout dates, and sometimes moved
///   `actionRequiredByDateTime` (40 % of those that have one) and
///   `endDateTime` (60 %).
/// - New posts get higher MC ids, as in [`advance`], but none is listed
///   late.
/// - Nothing expires and issues do not change: only the posts named
///   above differ from `corpus`.
pub fn publish(
    corpus: &Corpus,
    to: OffsetDateTime,
    new: usize,
    updates: usize,
    seed: u64,
) -> Corpus {
    let spec_seed = corpus.spec.seed;
    let from = to_ms(corpus.spec.base_time);
    let to = to_ms(to).max(from + 1_000);
    let window = from as u64;
    let mut ranked: Vec<(u64, u64)> = corpus
        .messages
        .iter()
        .filter_map(mc_number)
        .map(|id| (mix(&[PUBLISH_STREAM, seed, window, id]), id))
        .collect();
    ranked.sort_unstable();
    let edited: std::collections::HashSet<u64> =
        ranked.iter().take(updates).map(|&(_, id)| id).collect();
    let max_id = ranked.iter().map(|&(_, id)| id).max().unwrap_or(0);
    let mut messages: Vec<Value> = par_map(&corpus.messages, |m| {
        let mut m = m.clone();
        if let Some(id) = mc_number(&m).filter(|id| edited.contains(id)) {
            let mut rng = rng_for(&[PUBLISH_STREAM, seed, window, id, 1]);
            edit_message(&mut rng, &mut m, from, to);
        }
        refresh_feature_status(&mut m, spec_seed, SHARED_VIEW, to);
        m
    });
    let mut rng = rng_for(&[PUBLISH_STREAM, seed, window]);
    let mut starts: Vec<i64> = (0..new)
        .map(|_| first_post_time(&mut rng, from + 1, to))
        .collect();
    starts.sort_unstable();
    let mut prev = max_id;
    for start in starts {
        let id = mc_number_at(start).max(prev + 1);
        prev = id;
        let mut rng = rng_for(&[PUBLISH_STREAM, seed, window, id, 2]);
        messages.push(build_message(
            &mut rng,
            &PostContext {
                seed: spec_seed,
                id,
                start,
                base: to,
            },
        ));
    }
    Corpus {
        spec: CorpusSpec {
            posts: messages.len(),
            base_time: from_ms(to),
            ..corpus.spec.clone()
        },
        messages,
        issues: corpus.issues.clone(),
    }
}

/// Display name of tenant `t` (0-based): "tenant-001", "tenant-002", ...
pub fn tenant_name(t: usize) -> String {
    format!("tenant-{:03}", t + 1)
}

/// Entra tenant id of tenant `t`: a deterministic version-4-shaped GUID.
pub fn tenant_guid(t: usize) -> String {
    let a = mix(&[stream::TENANT, t as u64]);
    let b = mix(&[stream::TENANT, t as u64, 1]);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        8 + ((b >> 62) & 0x3),
        (b >> 48) & 0xfff,
        b & 0xffff_ffff_ffff,
    )
}

#[cfg(test)]
mod publish_tests {
    use super::*;

    #[test]
    fn publish_makes_exactly_the_news_asked_for() {
        let spec = CorpusSpec {
            posts: 300,
            issues: 5,
            ..CorpusSpec::default()
        };
        let corpus = generate(&spec);
        let to = spec.base_time + time::Duration::minutes(5);
        let later = publish(&corpus, to, 40, 25, 7);
        assert_eq!(later.spec.base_time, to);
        assert_eq!(later.messages.len(), 340);
        assert_eq!(later.issues, corpus.issues);
        let max_before = corpus.messages.iter().filter_map(mc_number).max().unwrap();
        let base = to_ms(spec.base_time);
        let mut edited = 0;
        for (before, after) in corpus.messages.iter().zip(&later.messages) {
            assert_eq!(before["id"], after["id"]);
            if before["lastModifiedDateTime"] != after["lastModifiedDateTime"] {
                edited += 1;
                let lm = after["lastModifiedDateTime"].as_str().and_then(parse_ms);
                assert!(lm.is_some_and(|t| t > base && t <= to_ms(to)));
                assert!(after["title"].as_str().unwrap().starts_with("(Updated) "));
            }
        }
        assert_eq!(edited, 25);
        for m in &later.messages[300..] {
            assert!(mc_number(m).unwrap() > max_before);
            let lm = m["lastModifiedDateTime"]
                .as_str()
                .and_then(parse_ms)
                .unwrap();
            assert!(lm > base && lm <= to_ms(to));
        }
        // deterministic
        assert_eq!(publish(&corpus, to, 40, 25, 7), later);
    }
}
