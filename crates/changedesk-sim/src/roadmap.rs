//! The public Microsoft 365 roadmap as the simulator serves it
//! (`GET /releasecommunications/api/v1/m365`, integrations.md §9): a bare
//! JSON array of items in the feed's v1 shape, derived from the corpus so
//! that the two link both ways.
//!
//! Every roadmap id a post names in its `RoadmapIds` detail is an item,
//! about the post's first service (its products: the post's services), its
//! status from the post's rollout start against the corpus's "now"
//! (`In development` before it, `Rolling out` in the 45 days after, then
//! `Launched`; a few `Cancelled`), its release month the month of that start,
//! its `modified` the post's last modification. About a quarter as many
//! items again are not announced by any post yet (`In development`, release
//! one to nine months ahead): the "coming but not yet announced" view has
//! something to show. Deterministic: the same corpus gives the same items,
//! and a corpus advanced in time gives the items as they moved.
//!
//! Times are written as the feed writes them, without an offset
//! (`2026-02-21T00:30:02`), and empty months as `""`.

use serde_json::{Value, json};

use crate::clock::{MONTHS, MS_PER_DAY, ymd};
use crate::generate::Corpus;
use crate::rng::{between, chance, mix, pick, rng_for};
use crate::vocab::SERVICES;

/// The roadmap stream of random choices (the unannounced items).
const ROADMAP_STREAM: u64 = 0x524f_4144;

/// `"March CY2026"` for the month of `ms`.
fn month_text(ms: i64) -> String {
    let (y, m, _) = ymd(ms);
    format!("{} CY{y}", MONTHS[(m as usize).clamp(1, 12) - 1])
}

/// The feed's time form: to the second, without an offset.
fn feed_time(ms: i64) -> String {
    let mut s = crate::clock::iso(ms - ms.rem_euclid(1000));
    s.pop(); // 'Z'
    s
}

fn tags(list: &[&str]) -> Value {
    Value::Array(list.iter().map(|t| json!({ "tagName": t })).collect())
}

/// What an item is made of.
struct Draft<'a> {
    id: u64,
    title: String,
    description: String,
    status: &'a str,
    release_ms: i64,
    created_ms: i64,
    modified_ms: i64,
    products: &'a [&'a str],
    preview: bool,
}

fn item(d: Draft<'_>) -> Value {
    let Draft {
        id,
        title,
        description,
        status,
        release_ms,
        created_ms,
        modified_ms,
        products,
        preview,
    } = d;
    let cloud = ["Worldwide (Standard Multi-Tenant)"];
    let platforms = ["Web", "Desktop"];
    let phase = if preview {
        "Preview"
    } else {
        "General Availability"
    };
    let mut all: Vec<&str> = cloud.to_vec();
    all.extend(platforms);
    all.extend(products);
    all.push(phase);
    json!({
        "id": id,
        "title": title,
        "description": description,
        "moreInfoLink": null,
        "publicDisclosureAvailabilityDate": month_text(release_ms),
        "publicPreviewDate": if preview { month_text(release_ms - 30 * MS_PER_DAY) } else { String::new() },
        "created": feed_time(created_ms),
        "publicRoadmapStatus": "Include this month",
        "status": status,
        "modified": feed_time(modified_ms),
        "locale": null,
        "tags": tags(&all),
        "tagsContainer": {
            "products": tags(products),
            "cloudInstances": tags(&cloud),
            "releasePhase": tags(&[phase]),
            "platforms": tags(&platforms),
        },
    })
}

fn text_ms(v: &Value, key: &str) -> Option<i64> {
    v.get(key)?.as_str().and_then(crate::clock::parse_ms)
}

/// The roadmap of `corpus` (see the module).
pub fn roadmap(corpus: &Corpus) -> Vec<Value> {
    let now = crate::clock::to_ms(corpus.spec.base_time);
    let mut out: Vec<Value> = Vec::new();
    let mut seen: std::collections::HashSet<u64> = std::collections::HashSet::new();
    for m in &corpus.messages {
        let Some(ids) = m
            .get("details")
            .and_then(Value::as_array)
            .and_then(|d| {
                d.iter()
                    .find(|x| x.get("name").and_then(Value::as_str) == Some("RoadmapIds"))
            })
            .and_then(|x| x.get("value"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let services: Vec<&str> = m
            .get("services")
            .and_then(Value::as_array)
            .map(|s| s.iter().filter_map(Value::as_str).map(str::trim).collect())
            .unwrap_or_default();
        let title = m.get("title").and_then(Value::as_str).unwrap_or("A change");
        let title = title.strip_prefix("(Updated) ").unwrap_or(title);
        let start = text_ms(m, "startDateTime").unwrap_or(now);
        let modified = text_ms(m, "lastModifiedDateTime").unwrap_or(start);
        for (n, id) in ids
            .split(',')
            .filter_map(|i| i.trim().parse::<u64>().ok())
            .enumerate()
        {
            if !seen.insert(id) {
                continue;
            }
            let h = mix(&[ROADMAP_STREAM, id]);
            // the rollout begins some weeks after the post's start
            let release = start + (h % 60) as i64 * MS_PER_DAY;
            let status = if h.is_multiple_of(97) {
                "Cancelled"
            } else if now < release {
                "In development"
            } else if now < release + 45 * MS_PER_DAY {
                "Rolling out"
            } else {
                "Launched"
            };
            let product = services.first().copied().unwrap_or("Microsoft 365");
            let name = if n == 0 {
                format!("{product}: {title}")
            } else {
                format!("{product}: {title} (part {})", n + 1)
            };
            out.push(item(Draft {
                id,
                title: name,
                description: format!("{title}. This feature is described in Message Center."),
                status,
                release_ms: release,
                created_ms: start - 30 * MS_PER_DAY,
                modified_ms: modified.min(now),
                products: &services,
                preview: h.is_multiple_of(5),
            }));
        }
    }
    // the items no post announces yet: ids above every announced one
    let announced = out.len();
    let top = seen.iter().copied().max().unwrap_or(500_000);
    let mut rng = rng_for(&[ROADMAP_STREAM, corpus.spec.seed]);
    for k in 0..announced.div_ceil(4).max(3) {
        let service = &SERVICES
            [usize::try_from(between(&mut rng, 0, SERVICES.len() as i64 - 1)).unwrap_or(0)];
        let thing = pick(&mut rng, service.things);
        let release = now + between(&mut rng, 30, 270) * MS_PER_DAY;
        let created = now - between(&mut rng, 1, 60) * MS_PER_DAY;
        let preview = chance(&mut rng, 0.2);
        out.push(item(Draft {
            id: top + 1 + k as u64,
            title: format!("{}: {thing}, improved", service.name),
            description: format!(
                "Coming to {}: {thing}, improved for everyone.",
                service.name
            ),
            status: "In development",
            release_ms: release,
            created_ms: created,
            modified_ms: created,
            products: &[service.name],
            preview,
        }));
    }
    out
}
