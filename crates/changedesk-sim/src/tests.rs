//! Tests of the public API: determinism, wire shapes, distributions,
//! tenant views and the passage of time.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::*;
use crate::clock::{MS_PER_DAY, parse_ms, to_ms};
use crate::issue::{OPEN_SEVERITY, is_resolved_status};
use crate::message::{HOW_HEADING, PREPARE_HEADING, WHEN_HEADING, when_section_range};
use crate::vocab::{HEALTH_SERVICES, SERVICES};

fn spec(posts: usize, issues: usize) -> CorpusSpec {
    CorpusSpec {
        posts,
        issues,
        ..Default::default()
    }
}

fn ms(v: &Value) -> i64 {
    parse_ms(v.as_str().unwrap_or_else(|| panic!("not a string: {v}")))
        .unwrap_or_else(|| panic!("not a timestamp: {v}"))
}

fn mc(m: &Value) -> u64 {
    m["id"].as_str().unwrap()[2..].parse().unwrap()
}

fn detail<'a>(m: &'a Value, name: &str) -> Option<&'a str> {
    m["details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .map(|d| d["value"].as_str().unwrap())
}

fn is_graph_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 20 || !s.ends_with('Z') || b[10] != b'T' {
        return false;
    }
    match s[19..].strip_suffix('Z') {
        Some("") => true,
        Some(frac) => {
            frac.starts_with('.')
                && (2..=8).contains(&frac.len())
                && frac[1..].bytes().all(|c| c.is_ascii_digit())
                && !frac.ends_with('0')
        }
        None => false,
    }
}

const MESSAGE_KEYS: &[&str] = &[
    "startDateTime",
    "endDateTime",
    "lastModifiedDateTime",
    "title",
    "id",
    "category",
    "severity",
    "tags",
    "isMajorChange",
    "actionRequiredByDateTime",
    "services",
    "hasAttachments",
    "viewPoint",
    "details",
    "body",
];

/// Shape and time invariants every post satisfies at `now`.
fn check_message(m: &Value, now: i64) {
    let obj = m.as_object().expect("message is an object");
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = MESSAGE_KEYS.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want, "keys of {}", m["id"]);

    let id = m["id"].as_str().unwrap();
    // every template slot is filled: no `{word}` left in a title or a body
    for text in [
        m["title"].as_str().unwrap(),
        m["body"]["content"].as_str().unwrap(),
    ] {
        let unfilled = text.split('{').skip(1).any(|after| {
            after.split_once('}').is_some_and(|(slot, _)| {
                !slot.is_empty() && slot.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
            })
        });
        assert!(!unfilled, "unfilled slot in {id}: {text}");
    }
    let digits = id.strip_prefix("MC").expect("MC prefix");
    assert!((6..=7).contains(&digits.len()) && digits.bytes().all(|c| c.is_ascii_digit()));
    for k in ["startDateTime", "endDateTime", "lastModifiedDateTime"] {
        assert!(
            is_graph_timestamp(m[k].as_str().unwrap()),
            "{k} of {id}: {}",
            m[k]
        );
    }
    let (start, end, lm) = (
        ms(&m["startDateTime"]),
        ms(&m["endDateTime"]),
        ms(&m["lastModifiedDateTime"]),
    );
    assert!(
        start <= lm && lm <= now,
        "{id}: start {start} lm {lm} now {now}"
    );
    assert!(end >= now, "{id} expired");
    match &m["actionRequiredByDateTime"] {
        Value::Null => {}
        v => assert!(is_graph_timestamp(v.as_str().unwrap())),
    }
    let title = m["title"].as_str().unwrap();
    assert!(title.contains(": "), "title {title}");
    assert!(matches!(
        m["category"].as_str().unwrap(),
        "stayInformed" | "planForChange" | "preventOrFixIssue"
    ));
    assert!(matches!(
        m["severity"].as_str().unwrap(),
        "normal" | "high" | "critical"
    ));
    assert!(m["isMajorChange"].is_boolean());
    assert_eq!(m["hasAttachments"], false);
    assert!(m["viewPoint"].is_null());
    let known: HashSet<&str> = SERVICES.iter().map(|s| s.name).collect();
    let services = m["services"].as_array().unwrap();
    assert!((1..=3).contains(&services.len()));
    assert!(services.iter().all(|s| known.contains(s.as_str().unwrap())));
    for t in m["tags"].as_array().unwrap() {
        assert!(matches!(
            t.as_str().unwrap(),
            "Admin impact"
                | "User impact"
                | "New feature"
                | "Updated message"
                | "Feature update"
                | "Retirement"
                | "Deferred feature"
                | "GDPR"
        ));
    }
    assert_eq!(
        title.starts_with("(Updated) "),
        m["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "Updated message"),
        "{id}"
    );
    for d in m["details"].as_array().unwrap() {
        assert!(d["name"].is_string() && d["value"].is_string(), "{d}");
    }
    if let Some(ids) = detail(m, "RoadmapIds") {
        assert!(!ids.contains(' '));
        assert!(ids.split(',').all(|i| i.parse::<u64>().is_ok()));
    }
    assert_eq!(m["body"]["contentType"], "html");
    let body = m["body"]["content"].as_str().unwrap();
    assert!(
        (1_000..=6_000).contains(&body.len()),
        "{id} body {}",
        body.len()
    );
    assert!(body.contains(WHEN_HEADING), "{id}");
    assert_eq!(
        body.contains("roadmap?filters=&amp;searchterms="),
        detail(m, "RoadmapIds").is_some(),
        "{id}"
    );
}

const OPEN_OR_DONE: &[&str] = &[
    "serviceRestored",
    "postIncidentReviewPublished",
    "falsePositive",
];

fn check_issue(i: &Value, now: i64) {
    let id = i["id"].as_str().unwrap();
    let service = i["service"].as_str().unwrap();
    let hs = HEALTH_SERVICES
        .iter()
        .find(|h| h.name == service)
        .expect("known service");
    assert!(
        !hs.prefix.is_empty() && id.starts_with(hs.prefix),
        "{id} {service}"
    );
    assert!(id[2..].bytes().all(|c| c.is_ascii_digit()));
    let status = i["status"].as_str().unwrap();
    assert!(
        OPEN_SEVERITY.contains(&status) || OPEN_OR_DONE.contains(&status),
        "{status}"
    );
    assert_eq!(i["isResolved"], is_resolved_status(status), "{id}");
    assert_eq!(
        i["endDateTime"].is_null(),
        !is_resolved_status(status),
        "{id}"
    );
    assert!(matches!(
        i["classification"].as_str().unwrap(),
        "incident" | "advisory"
    ));
    assert!(matches!(
        i["origin"].as_str().unwrap(),
        "microsoft" | "thirdParty" | "customer"
    ));
    for k in ["title", "impactDescription", "feature", "featureGroup"] {
        assert!(!i[k].as_str().unwrap().is_empty());
    }
    assert_eq!(i["details"], Value::Array(vec![]));
    let posts = i["posts"].as_array().unwrap();
    assert!(!posts.is_empty());
    let mut prev = ms(&i["startDateTime"]);
    for p in posts {
        let at = ms(&p["createdDateTime"]);
        assert!(at >= prev && at <= now, "{id} post times");
        prev = at;
        assert_eq!(p["postType"], "regular");
        assert_eq!(p["description"]["contentType"], "html");
        assert!(p["description"]["content"].is_string());
    }
    let first = posts[0]["description"]["content"].as_str().unwrap();
    assert!(first.starts_with("Title: ") && first.contains("User Impact: "));
    assert!(first.contains("Current status: "));
    assert_eq!(
        i["lastModifiedDateTime"],
        posts.last().unwrap()["createdDateTime"]
    );
}

#[test]
fn generation_is_deterministic() {
    let s = spec(300, 20);
    let a = generate(&s);
    let b = generate(&s);
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a.messages).unwrap(),
        serde_json::to_string(&b.messages).unwrap()
    );
    assert_eq!(tenant_messages(&a, 1), tenant_messages(&b, 1));
    assert_eq!(
        tenant_health_overviews(&a, 2),
        tenant_health_overviews(&b, 2)
    );
    let other = generate(&CorpusSpec { seed: 2, ..s });
    assert_ne!(a.messages, other.messages);
    assert_ne!(a.issues, other.issues);
}

#[test]
fn default_spec() {
    let s = CorpusSpec::default();
    assert_eq!((s.posts, s.issues, s.tenants, s.seed), (1000, 40, 3, 1));
    assert!((s.coverage - 0.85).abs() < 1e-12);
    assert_eq!(s.base_time.to_string(), "2026-08-22 0:00:00.0 +00:00:00");
}

#[test]
fn messages_have_graph_shape_and_realistic_mix() {
    let c = generate(&spec(2000, 0));
    let now = to_ms(c.spec.base_time);
    assert_eq!(c.messages.len(), 2000);
    let mut ids = HashSet::new();
    let mut prev: Option<(u64, i64)> = None;
    for m in &c.messages {
        check_message(m, now);
        let id = mc(m);
        assert!(ids.insert(id), "duplicate id {id}");
        let start = ms(&m["startDateTime"]);
        if let Some((pid, pstart)) = prev {
            assert!(id > pid && start >= pstart, "ids ascend with time");
        }
        prev = Some((id, start));
    }

    let n = c.messages.len() as f64;
    let share = |f: &dyn Fn(&Value) -> bool| c.messages.iter().filter(|m| f(m)).count() as f64 / n;
    let near = |got: f64, want: f64, tol: f64, what: &str| {
        assert!((got - want).abs() <= tol, "{what}: {got:.3} vs {want}");
    };
    near(
        share(&|m| m["category"] == "stayInformed"),
        0.65,
        0.04,
        "stayInformed",
    );
    near(
        share(&|m| m["category"] == "planForChange"),
        0.31,
        0.04,
        "planForChange",
    );
    near(
        share(&|m| m["category"] == "preventOrFixIssue"),
        0.04,
        0.02,
        "preventOrFix",
    );
    near(
        share(&|m| m["isMajorChange"] == true),
        0.23,
        0.04,
        "isMajorChange",
    );
    near(
        share(&|m| !m["actionRequiredByDateTime"].is_null()),
        0.05,
        0.025,
        "actBy",
    );
    near(
        share(&|m| m["severity"] == "normal"),
        0.99,
        0.015,
        "normal severity",
    );
    near(
        share(&|m| detail(m, "RoadmapIds").is_some()),
        0.30,
        0.06,
        "RoadmapIds",
    );
    near(
        share(&|m| detail(m, "FeatureStatusJson").is_some()),
        0.15,
        0.04,
        "FSJ",
    );
    near(
        share(&|m| detail(m, "Summary").is_some()),
        0.68,
        0.08,
        "Summary",
    );
    near(
        share(&|m| m["services"].as_array().unwrap().len() > 1),
        0.16,
        0.05,
        "2+ services",
    );
    near(
        share(&|m| m["title"].as_str().unwrap().starts_with("(Updated) ")),
        0.34,
        0.08,
        "updated",
    );
    assert!(share(&|m| body_has(m, HOW_HEADING)) > 0.6);
    assert!(share(&|m| body_has(m, PREPARE_HEADING)) > 0.6);
    assert!(share(&|m| body_has(m, "<ul><li>")) > 0.6);
    assert!(share(&|m| body_has(m, "<b>")) > 0.5);

    // fractional seconds vary like Graph's
    let lens: HashSet<usize> = c
        .messages
        .iter()
        .map(|m| m["lastModifiedDateTime"].as_str().unwrap().len())
        .collect();
    assert!(lens.len() >= 3, "{lens:?}");
    // posts differ
    let titles: HashSet<&str> = c
        .messages
        .iter()
        .map(|m| m["title"].as_str().unwrap())
        .collect();
    assert!(titles.len() as f64 > 0.9 * n);
    let services: HashSet<&str> = c
        .messages
        .iter()
        .flat_map(|m| m["services"].as_array().unwrap())
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(services.len() >= 20, "{services:?}");
}

fn body_has(m: &Value, needle: &str) -> bool {
    m["body"]["content"].as_str().unwrap().contains(needle)
}

/// Parses a FeatureStatusJson value and checks the documented shape.
fn check_fsj(value: &str, mc_id: &str) -> Vec<(String, String)> {
    let v: Value = serde_json::from_str(value).expect("FeatureStatusJson is JSON");
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1);
    let (key, list) = obj.iter().next().unwrap();
    let roadmap: u64 = key.parse().unwrap();
    let list = list.as_array().unwrap();
    assert!(list.len() >= 2);
    let mut out = Vec::new();
    for e in list {
        assert_eq!(e["RoadmapId"].as_u64(), Some(roadmap));
        assert_eq!(e["McPostId"], mc_id);
        let status = e["Status"].as_str().unwrap();
        assert!(matches!(
            status,
            "FeatureRolloutStatusNotSupported" | "Launched" | "Scheduled" | "InRollout"
        ));
        let platform = e["Platform"].as_str().unwrap();
        assert!(matches!(
            platform,
            "All" | "Desktop" | "Mac" | "Android" | "Web" | "iOS" | "IOS" | "Linux"
        ));
        let t = e["LastUpdateTime"].as_str().unwrap();
        assert!(is_graph_timestamp(t) && parse_ms(t).is_some(), "{t}");
        assert!(e["LatestRing"].is_null() || e["LatestRing"].is_string());
        assert!(e["TenantRolloutRing"].is_null());
        out.push((platform.to_owned(), status.to_owned()));
    }
    assert_eq!(out.last().unwrap().0, "All");
    out
}

#[test]
fn feature_status_json_has_documented_shape() {
    let c = generate(&spec(1500, 0));
    let mut statuses = HashSet::new();
    let mut with_fsj = 0;
    for m in &c.messages {
        if let Some(fsj) = detail(m, "FeatureStatusJson") {
            with_fsj += 1;
            let roadmap = detail(m, "RoadmapIds").and_then(|r| r.split(',').next());
            let key = serde_json::from_str::<Value>(fsj).unwrap();
            let key = key.as_object().unwrap().keys().next().unwrap().clone();
            assert_eq!(key, roadmap.unwrap_or("0"));
            for (_, s) in check_fsj(fsj, m["id"].as_str().unwrap()) {
                statuses.insert(s);
            }
        }
    }
    assert!(with_fsj > 100);
    assert_eq!(statuses.len(), 4, "{statuses:?}");
}

#[test]
fn tenants_see_overlapping_subsets_with_their_own_rollout() {
    let c = generate(&spec(2000, 60));
    let views: Vec<Vec<Value>> = (0..3).map(|t| tenant_messages(&c, t)).collect();
    let sets: Vec<HashSet<u64>> = views.iter().map(|v| v.iter().map(mc).collect()).collect();
    let n = c.messages.len() as f64;
    for s in &sets {
        let f = s.len() as f64 / n;
        assert!((f - 0.85).abs() < 0.04, "coverage {f}");
    }
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let both = sets[a].intersection(&sets[b]).count() as f64 / n;
        assert!((both - 0.85 * 0.85).abs() < 0.05, "overlap {both}");
        assert_ne!(sets[a], sets[b]);
    }
    let shared: HashMap<u64, &Value> = c.messages.iter().map(|m| (mc(m), m)).collect();
    let t1: HashMap<u64, &Value> = views[1].iter().map(|m| (mc(m), m)).collect();
    let mut differs = 0;
    let mut compared = 0;
    for m in &views[0] {
        let id = mc(m);
        let orig = shared[&id];
        // everything but FeatureStatusJson is the shared value
        let strip = |v: &Value| {
            let mut v = v.clone();
            v["details"]
                .as_array_mut()
                .unwrap()
                .retain(|d| d["name"] != "FeatureStatusJson");
            v
        };
        assert_eq!(strip(m), strip(orig));
        if let Some(fsj) = detail(m, "FeatureStatusJson") {
            check_fsj(fsj, m["id"].as_str().unwrap());
            if let Some(other) = t1.get(&id) {
                compared += 1;
                if detail(other, "FeatureStatusJson") != Some(fsj) {
                    differs += 1;
                }
            }
        }
    }
    assert!(
        compared > 50 && differs * 2 > compared,
        "{differs}/{compared}"
    );
    // a tenant's view is stable
    assert_eq!(tenant_messages(&c, 0), views[0]);
    // a different coverage changes the subset size
    let wide = Corpus {
        spec: CorpusSpec {
            coverage: 1.0,
            ..c.spec.clone()
        },
        ..c.clone()
    };
    assert_eq!(tenant_messages(&wide, 4).len(), c.messages.len());
}

#[test]
fn issues_are_consistent_and_drive_health_overviews() {
    let c = generate(&spec(0, 80));
    let now = to_ms(c.spec.base_time);
    assert_eq!(c.issues.len(), 80);
    let mut ids = HashSet::new();
    for i in &c.issues {
        check_issue(i, now);
        assert!(ids.insert(i["id"].as_str().unwrap().to_owned()));
    }
    let open = c.issues.iter().filter(|i| i["isResolved"] == false).count();
    assert!((3..40).contains(&open), "open {open}");
    let statuses: HashSet<&str> = c
        .issues
        .iter()
        .map(|i| i["status"].as_str().unwrap())
        .collect();
    assert!(statuses.len() >= 4, "{statuses:?}");
    assert!(c.issues.iter().any(|i| i["classification"] == "incident"));
    assert!(c.issues.iter().any(|i| i["classification"] == "advisory"));

    let mut non_operational = 0;
    for t in 0..3 {
        let mine = tenant_issues(&c, t);
        assert!(mine.len() < c.issues.len() && mine.len() > 40);
        let overview = tenant_health_overviews(&c, t);
        assert_eq!(overview.len(), HEALTH_SERVICES.len());
        for h in &overview {
            let obj = h.as_object().unwrap();
            assert_eq!(obj.len(), 3);
            let service = h["service"].as_str().unwrap();
            let open: Vec<&str> = mine
                .iter()
                .filter(|i| i["service"] == service && i["isResolved"] == false)
                .map(|i| i["status"].as_str().unwrap())
                .collect();
            let status = h["status"].as_str().unwrap();
            if open.is_empty() {
                assert_eq!(status, "serviceOperational", "{service}");
            } else {
                non_operational += 1;
                assert!(
                    open.contains(&status),
                    "{service}: {status} not in {open:?}"
                );
            }
        }
    }
    assert!(non_operational > 0);
    assert_eq!(
        tenant_health_overviews(&c, 0)
            .iter()
            .find(|h| h["id"] == "Exchange")
            .unwrap()["service"],
        "Exchange Online"
    );
}

#[test]
fn advance_edits_adds_and_expires() {
    let c = generate(&spec(1500, 40));
    let later = advance(&c, 30, 9);
    assert_eq!(later, advance(&c, 30, 9), "deterministic");
    assert_ne!(later.messages, advance(&c, 30, 10).messages);

    let old_now = to_ms(c.spec.base_time);
    let now = to_ms(later.spec.base_time);
    assert_eq!(now - old_now, 30 * MS_PER_DAY);
    assert_eq!(later.spec.posts, later.messages.len());
    assert_eq!(later.spec.seed, c.spec.seed);
    for m in &later.messages {
        check_message(m, now);
    }
    for i in &later.issues {
        check_issue(i, now);
    }

    let before: HashMap<u64, &Value> = c.messages.iter().map(|m| (mc(m), m)).collect();
    let after: HashMap<u64, &Value> = later.messages.iter().map(|m| (mc(m), m)).collect();
    let old_max = *before.keys().max().unwrap();

    // expired posts are gone, the others remain
    let mut expired = 0;
    for (id, m) in &before {
        let gone = !after.contains_key(id);
        if ms(&m["endDateTime"]) < now {
            expired += 1;
            if !gone {
                // an edit may have pushed the end date past the new now
                assert!(ms(&after[id]["endDateTime"]) >= now);
            }
        } else {
            assert!(!gone, "MC{id} vanished");
        }
    }
    assert!(expired > 50, "expired {expired}");

    // edits
    let mut edited = 0;
    let mut act_moved = 0;
    for (id, m) in &after {
        let Some(old) = before.get(id) else { continue };
        if m["lastModifiedDateTime"] == old["lastModifiedDateTime"] {
            assert_eq!(m["body"], old["body"]);
            assert_eq!(m["title"], old["title"]);
            continue;
        }
        edited += 1;
        assert!(ms(&m["lastModifiedDateTime"]) > ms(&old["lastModifiedDateTime"]));
        assert!(ms(&m["lastModifiedDateTime"]) > old_now);
        assert!(m["title"].as_str().unwrap().starts_with("(Updated) "));
        assert_eq!(m["tags"][0], "Updated message");
        let body = m["body"]["content"].as_str().unwrap();
        let old_body = old["body"]["content"].as_str().unwrap();
        assert!(body.starts_with("<p>Updated "));
        let (a, b) = when_section_range(body).unwrap();
        let (oa, ob) = when_section_range(old_body).unwrap();
        assert_ne!(&body[a..b], &old_body[oa..ob], "MC{id} dates did not move");
        assert!(body[a..b].contains("(previously "));
        if m["actionRequiredByDateTime"] != old["actionRequiredByDateTime"] {
            act_moved += 1;
        }
    }
    let survivors = after.keys().filter(|id| before.contains_key(id)).count();
    assert!(
        edited > survivors / 10 && edited < survivors / 2,
        "{edited}/{survivors}"
    );
    let _ = act_moved;

    // new posts
    let fresh: Vec<&Value> = later.messages.iter().filter(|m| mc(m) > old_max).collect();
    assert!(fresh.len() > 100, "new {}", fresh.len());
    // each is published in the window, but about one in 300 is listed late:
    // dated before it, last modified before it too
    let mut late = 0;
    for m in &fresh {
        let start = ms(&m["startDateTime"]);
        if start <= old_now {
            late += 1;
            assert!(start >= old_now - 3 * 24 * 3_600_000, "{m}");
            assert!(ms(&m["lastModifiedDateTime"]) < old_now, "{m}");
        } else {
            assert!(start <= now);
        }
    }
    assert!(late * 50 < fresh.len(), "{late} of {} late", fresh.len());
    let ids: Vec<u64> = later.messages.iter().map(mc).collect();
    assert_eq!(ids.len(), ids.iter().collect::<HashSet<_>>().len());

    // issues progress
    let old_issues: HashMap<&str, &Value> = c
        .issues
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i))
        .collect();
    let mut progressed = 0;
    for i in &later.issues {
        if let Some(old) = old_issues.get(i["id"].as_str().unwrap()) {
            let (n, o) = (
                i["posts"].as_array().unwrap().len(),
                old["posts"].as_array().unwrap().len(),
            );
            assert!(n >= o);
            assert_eq!(
                i["posts"].as_array().unwrap()[..o],
                old["posts"].as_array().unwrap()[..]
            );
            if n > o {
                progressed += 1;
                assert_ne!(i["lastModifiedDateTime"], old["lastModifiedDateTime"]);
            }
        }
    }
    assert!(progressed > 0);
    assert!(
        later
            .issues
            .iter()
            .any(|i| !old_issues.contains_key(i["id"].as_str().unwrap()))
    );
}

#[test]
fn advance_by_zero_days_changes_nothing() {
    let c = generate(&spec(400, 30));
    let same = advance(&c, 0, 5);
    assert_eq!(same.messages, c.messages);
    assert_eq!(same.issues, c.issues);
    assert_eq!(same.spec.base_time, c.spec.base_time);
}

#[test]
fn advancing_twice_keeps_updating() {
    let c = generate(&spec(600, 20));
    let a = advance(&c, 10, 1);
    let b = advance(&a, 10, 1);
    let now = to_ms(b.spec.base_time);
    for m in &b.messages {
        check_message(m, now);
    }
    for i in &b.issues {
        check_issue(i, now);
    }
    // tenant views follow the advanced corpus and stay within it
    let ids: HashSet<u64> = b.messages.iter().map(mc).collect();
    assert!(tenant_messages(&b, 0).iter().all(|m| ids.contains(&mc(m))));
}

#[test]
fn tenant_names_and_guids() {
    assert_eq!(tenant_name(0), "tenant-001");
    assert_eq!(tenant_name(41), "tenant-042");
    let g = tenant_guid(0);
    assert_eq!(g, tenant_guid(0));
    assert_ne!(g, tenant_guid(1));
    let parts: Vec<&str> = g.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12]
    );
    assert!(g.bytes().all(|c| c == b'-' || c.is_ascii_hexdigit()));
    assert!(parts[2].starts_with('4'));
    assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
}

#[test]
fn about_one_new_post_in_300_is_listed_late() {
    let c = generate(&spec(3000, 10));
    let old_now = to_ms(c.spec.base_time);
    let old_max = c.messages.iter().map(mc).max().unwrap();
    let later = advance(&c, 100, 3);
    let fresh: Vec<&Value> = later.messages.iter().filter(|m| mc(m) > old_max).collect();
    let late = fresh
        .iter()
        .filter(|m| ms(&m["lastModifiedDateTime"]) < old_now)
        .count();
    let expected = fresh.len() as f64 * crate::generate::LATE_POST_CHANCE;
    assert!(
        late >= 1 && (late as f64) < expected * 3.0 + 3.0,
        "{late} late of {} new (expected about {expected:.1})",
        fresh.len()
    );
}
