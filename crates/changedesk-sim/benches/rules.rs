//! Rules engine throughput: 50 realistic rules over 10,000 generated posts ×
//! 10 tenants (100,000 post–tenant pairs), single-threaded.
//!
//! Run with `cargo bench -p changedesk-sim --bench rules`.
//!
//! Timed per run, for every post: `PostFacts::new` (roadmap ids, platforms,
//! lowercased title), `RuleSet::for_post`, then `PostEval::for_tenant` for
//! each of its 10 tenants, building each pair's `Outcome`. Not timed: corpus
//! generation, Graph parsing, HTML-to-text of the bodies and decoding each
//! tenant's `FeatureStatusJson`, which a caller has stored already. The
//! figure is the best of 5 runs after a warm-up. Nothing here asserts on
//! time; the one assertion is that the two-stage and the direct evaluation
//! agree on every pair.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use changedesk_core::Timestamp;
use changedesk_core::diff::body_text;
use changedesk_core::graph::{Message, RolloutStatus};
use changedesk_core::rules::{PostFacts, RuleSet, TenantFacts, rollout_statuses};
use changedesk_sim::{CorpusSpec, generate, tenant_messages, tenant_name};

const POSTS: usize = 10_000;
const TENANTS: usize = 10;
const RUNS: usize = 5;

/// 50 rules a Microsoft 365 shop might write: mostly services, tags,
/// category, severity and dates; five `matches` on title or body; some on
/// the tenant's groups, rollout and change facts.
const RULES: &str = r#"
[[rules]]
name = "Dynamics and Project are not licensed"
when = 'services has ["Dynamics 365 Apps", "Finance and Operations Apps", "Project Online"] and not (services has ["Microsoft Teams", "Exchange Online"])'
then = { dismiss = "Not licensed here", stop = true }

[[rules]]
name = "Clipchamp is not used"
when = 'services has "Microsoft Clipchamp"'
then = { dismiss = "Clipchamp is blocked", stop = true }

[[rules]]
name = "Severe security changes"
when = 'severity in ["high", "critical"] and services has ["Microsoft Entra", "Microsoft Defender XDR", "Microsoft Purview"]'
then = { owner = "security", priority = "critical", due = "act_by ?? now + 7d", notify = ["owner", "security-team"], change_request = true }

[[rules]]
name = "Retirements with a deadline"
when = 'tags has "Retirement" and act_by != null'
then = { priority = "high", due = "act_by - 14d", labels = ["retirement"], change_request = true, communication = true }

[[rules]]
name = "Retirements without a deadline"
when = 'tags has "Retirement" and act_by == null'
then = { priority = "high", due = "(end ?? now + 60d) - 30d", labels = ["retirement"] }

[[rules]]
name = "Teams changes to collaboration"
when = 'services has "Microsoft Teams" and category != "stayInformed"'
then = { owner = "collaboration", labels = ["teams"] }

[[rules]]
name = "Teams Rooms to the AV team"
when = 'services has "Microsoft Teams" and title matches "Teams Rooms"'
then = { owner = "av-team", labels = ["rooms"] }

[[rules]]
name = "Exchange"
when = 'services has "Exchange Online"'
then = { owner = "messaging", labels = ["exchange"] }

[[rules]]
name = "SharePoint and OneDrive"
when = 'services has ["SharePoint Online", "Microsoft OneDrive"]'
then = { owner = "content-services", labels = ["sharepoint"] }

[[rules]]
name = "Copilot"
when = 'services has ["Microsoft Copilot (Microsoft 365)", "Microsoft 365 Copilot Chat"]'
then = { owner = "ai-governance", labels = ["copilot"], communication = true }

[[rules]]
name = "Copilot in pilot tenants"
when = 'services has "Microsoft Copilot (Microsoft 365)" and tenant_group has "pilot"'
then = { priority = "high", labels = ["copilot-pilot"] }

[[rules]]
name = "Identity"
when = 'services has "Microsoft Entra"'
then = { owner = "identity", labels = ["identity"] }

[[rules]]
name = "Endpoints"
when = 'services has ["Microsoft Intune", "Windows", "Windows Autopatch", "Windows 365"]'
then = { owner = "endpoint", labels = ["endpoint"] }

[[rules]]
name = "Compliance"
when = 'services has "Microsoft Purview"'
then = { owner = "compliance", labels = ["compliance"] }

[[rules]]
name = "Defender"
when = 'services has "Microsoft Defender XDR"'
then = { owner = "security", labels = ["security"] }

[[rules]]
name = "Power Platform"
when = 'services has ["Power Platform", "Power Apps", "Microsoft Power Automate", "Microsoft Dataverse", "Power Apps in Microsoft 365", "Microsoft Power Automate in Microsoft 365", "Microsoft Copilot (Power Platform)"]'
then = { owner = "power-platform", labels = ["power-platform"] }

[[rules]]
name = "Power BI"
when = 'services has "Power BI"'
then = { owner = "bi", labels = ["bi"] }

[[rules]]
name = "Viva"
when = 'services has "Microsoft Viva"'
then = { owner = "employee-experience", labels = ["viva"] }

[[rules]]
name = "Small apps to their workload owner"
when = 'services has ["Planner", "Microsoft Forms", "Microsoft Bookings"]'
then = { owner = "workload", labels = ["productivity-apps"] }

[[rules]]
name = "Office apps"
when = 'services has ["Microsoft 365 apps", "Microsoft 365 for the web"]'
then = { owner = "desktop", labels = ["office"] }

[[rules]]
name = "Suite-wide"
when = 'services has "Microsoft 365 suite"'
then = { owner = "workload", labels = ["suite"] }

[[rules]]
name = "Major changes"
when = "major"
then = { priority = "high", labels = ["major"], communication = true }

[[rules]]
name = "Major changes without a deadline"
when = "major and act_by == null and start != null"
then = { due = "start - 7d" }

[[rules]]
name = "Deadline within two weeks"
when = "act_by != null and act_by - now < 14d"
then = { priority = "critical", labels = ["act-soon"], notify = ["owner"] }

[[rules]]
name = "Deadline passed"
when = "act_by < now"
then = { labels = ["overdue"] }

[[rules]]
name = "Fixes"
when = 'category == "preventOrFixIssue"'
then = { priority = "high", labels = ["fix"] }

[[rules]]
name = "Plan for change with user impact"
when = 'category == "planForChange" and tags has "User impact"'
then = { communication = true, labels = ["user-impact"] }

[[rules]]
name = "Admin-only impact"
when = 'tags has "Admin impact" and not (tags has "User impact")'
then = { labels = ["admin-only"] }

[[rules]]
name = "New features"
when = 'tags has "New feature"'
then = { labels = ["new-feature"] }

[[rules]]
name = "Feature updates"
when = 'tags has "Feature update"'
then = { labels = ["feature-update"] }

[[rules]]
name = "Deferred"
when = 'tags has "Deferred feature"'
then = { priority = "low", labels = ["deferred"] }

[[rules]]
name = "GDPR"
when = 'tags has "GDPR"'
then = { owner = "privacy", labels = ["gdpr"], notify = ["owner", "dpo"] }

[[rules]]
name = "Dates moved"
when = 'is_updated and changed_fields has ["act_by", "start", "end"]'
then = { labels = ["date-moved"], notify = ["owner"] }

[[rules]]
name = "New to this tenant"
when = 'is_new and category != "stayInformed"'
then = { labels = ["new"], notify = ["owner"] }

[[rules]]
name = "Rolling out"
when = 'rollout has "inRollout"'
then = { labels = ["rolling-out"] }

[[rules]]
name = "Launched"
when = 'rollout has "launched" and not (rollout has "inRollout")'
then = { labels = ["launched"] }

[[rules]]
name = "Not supported here"
when = 'rollout has "notSupported" and not (rollout has ["scheduled", "inRollout", "launched"])'
then = { labels = ["not-applicable"] }

[[rules]]
name = "EU data residency"
when = 'tenant_group has "eu" and body matches "data residency"'
then = { owner = "compliance", labels = ["eu-data"] }

[[rules]]
name = "Regulated tenants"
when = 'tenant_group has "regulated" and tags has ["Admin impact", "Retirement"]'
then = { change_request = true, labels = ["regulated"] }

[[rules]]
name = "For information only"
when = 'category == "stayInformed" and severity == "normal" and not (tags has ["User impact", "Admin impact", "Retirement"])'
then = { priority = "low", labels = ["fyi"] }

[[rules]]
name = "Old posts"
when = "start < now - 365d and not major"
then = { priority = "low", labels = ["stale"] }

[[rules]]
name = "Expiring soon"
when = "end != null and end - now < 7d"
then = { labels = ["expiring"] }

[[rules]]
name = "Web only"
when = 'platforms == ["Web"]'
then = { labels = ["web-only"] }

[[rules]]
name = "Mobile"
when = 'platforms has ["iOS", "Android"]'
then = { labels = ["mobile"], communication = true }

[[rules]]
name = "Roadmap items"
when = "roadmap_ids != []"
then = { labels = ["roadmap"] }

[[rules]]
name = "Retirement mentioned in the title"
when = "title matches /retir(e|es|ing|ement)/"
then = { labels = ["retirement-mentioned"] }

[[rules]]
name = "Preparation steps"
when = 'category == "planForChange" and body matches "what you need to do to prepare"'
then = { labels = ["has-prep-steps"] }

[[rules]]
name = "Conditional Access"
when = 'services has "Microsoft Entra" and body matches /conditional\s+access/'
then = { priority = "critical", change_request = true, labels = ["conditional-access"] }

[[rules]]
name = "Pilot coordinators hear first"
when = "tenant_group has \"pilot\" and (is_new or is_updated)"
then = { notify = ["pilot-coordinators"] }

[[rules]]
name = "Everything to its workload owner"
when = "true"
then = { owner = "workload", priority = "normal", due = "act_by ?? now + 30d" }
"#;

/// Tenant groups: two pilots, EU and US regions, two regulated.
fn groups(t: usize) -> Vec<String> {
    let g: &[&str] = match t {
        0 => &["pilot", "eu"],
        1 => &["pilot", "us"],
        3 => &["eu", "regulated"],
        7 => &["us", "regulated"],
        t if t % 2 == 0 => &["eu"],
        _ => &["us"],
    };
    g.iter().map(|s| s.to_string()).collect()
}

/// A deterministic hash for the per-pair change facts.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a tenant's link to a post holds: its rollout and change facts.
struct Pair {
    rollout: Vec<RolloutStatus>,
    is_new: bool,
    is_updated: bool,
    changed: Vec<String>,
}

struct Post {
    message: Message,
    body: String,
    pairs: Vec<Pair>,
}

fn prepare() -> (Vec<Post>, Vec<String>, Vec<Vec<String>>, Timestamp) {
    let spec = CorpusSpec {
        posts: POSTS,
        issues: 0,
        tenants: TENANTS,
        coverage: 1.0,
        ..Default::default()
    };
    let corpus = generate(&spec);
    let now = Timestamp::from_datetime(corpus.spec.base_time);
    let mut posts: Vec<Post> = corpus
        .messages
        .iter()
        .enumerate()
        .filter_map(|(i, v)| Message::from_graph(v, i).ok())
        .map(|message| Post {
            body: body_text(&message.content.body_html),
            message,
            pairs: Vec::with_capacity(TENANTS),
        })
        .collect();
    let index: HashMap<String, usize> = posts
        .iter()
        .enumerate()
        .map(|(i, p)| (p.message.content.id.clone(), i))
        .collect();
    let changes: [&[&str]; 4] = [
        &["title"],
        &["act_by", "body"],
        &["body"],
        &["start", "end", "title"],
    ];
    for t in 0..TENANTS {
        let mut seen = vec![false; posts.len()];
        for (i, v) in tenant_messages(&corpus, t).iter().enumerate() {
            let Ok(m) = Message::from_graph(v, i) else {
                continue;
            };
            let Some(&p) = index.get(&m.content.id) else {
                continue;
            };
            let h = mix(t as u64, p as u64);
            let is_new = h.is_multiple_of(10);
            let is_updated =
                !is_new && m.content.title.starts_with("(Updated)") && h.is_multiple_of(3);
            let changed = if is_updated {
                changes[(h >> 8) as usize % changes.len()]
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                Vec::new()
            };
            posts[p].pairs.push(Pair {
                rollout: rollout_statuses(&m.view.rollout().unwrap_or_default()),
                is_new,
                is_updated,
                changed,
            });
            seen[p] = true;
        }
        // every tenant sees every post at coverage 1.0; keep the shape if not
        for (p, s) in seen.iter().enumerate() {
            if !s {
                posts[p].pairs.push(Pair {
                    rollout: Vec::new(),
                    is_new: false,
                    is_updated: false,
                    changed: Vec::new(),
                });
            }
        }
    }
    let names = (0..TENANTS).map(tenant_name).collect();
    let groups = (0..TENANTS).map(groups).collect();
    (posts, names, groups, now)
}

fn tenant_facts<'a>(pair: &'a Pair, name: &'a str, groups: &'a [String]) -> TenantFacts<'a> {
    TenantFacts {
        tenant: name,
        groups,
        rollout: &pair.rollout,
        is_new: pair.is_new,
        is_updated: pair.is_updated,
        changed_fields: &pair.changed,
    }
}

#[derive(Default)]
struct Tally {
    pairs: usize,
    matched: usize,
    owners: usize,
    due: usize,
    dismissed: usize,
    live: usize,
    residual: usize,
}

/// One timed pass, two-stage: per post `for_post`, per tenant `for_tenant`.
fn run_staged(
    rules: &RuleSet,
    posts: &[Post],
    names: &[String],
    groups: &[Vec<String>],
    now: Timestamp,
) -> (Duration, Tally) {
    let mut tally = Tally::default();
    let start = Instant::now();
    for post in posts {
        let facts = PostFacts::new(&post.message.content, &post.message.view, &post.body);
        let partial = rules.for_post(&facts, now);
        tally.live += partial.live_rules();
        tally.residual += partial.residual_rules();
        for (t, pair) in post.pairs.iter().enumerate() {
            let outcome = partial.for_tenant(&tenant_facts(pair, &names[t], &groups[t]));
            tally.pairs += 1;
            tally.matched += outcome.matched.len();
            tally.owners += usize::from(outcome.owner.is_some());
            tally.due += usize::from(outcome.due.is_some());
            tally.dismissed += usize::from(outcome.dismiss.is_some());
            black_box(outcome);
        }
    }
    (start.elapsed(), tally)
}

/// One timed pass evaluating every rule for every pair directly.
fn run_direct(
    rules: &RuleSet,
    posts: &[Post],
    names: &[String],
    groups: &[Vec<String>],
    now: Timestamp,
) -> Duration {
    let start = Instant::now();
    for post in posts {
        let facts = PostFacts::new(&post.message.content, &post.message.view, &post.body);
        for (t, pair) in post.pairs.iter().enumerate() {
            black_box(rules.evaluate(&facts, &tenant_facts(pair, &names[t], &groups[t]), now));
        }
    }
    start.elapsed()
}

fn main() {
    let rules = match RuleSet::from_toml(RULES) {
        Ok(r) => r,
        Err(e) => panic!("the benchmark's rules do not compile:\n{e}"),
    };
    eprintln!("preparing {POSTS} posts × {TENANTS} tenants (not timed)…");
    let (posts, names, groups, now) = prepare();
    let pairs: usize = posts.iter().map(|p| p.pairs.len()).sum();

    // correctness, not timing: both ways agree on every pair
    for post in &posts {
        let facts = PostFacts::new(&post.message.content, &post.message.view, &post.body);
        let partial = rules.for_post(&facts, now);
        for (t, pair) in post.pairs.iter().enumerate() {
            let tf = tenant_facts(pair, &names[t], &groups[t]);
            assert_eq!(
                partial.for_tenant(&tf),
                rules.evaluate(&facts, &tf, now),
                "{}",
                post.message.content.id
            );
        }
    }

    let (_, tally) = run_staged(&rules, &posts, &names, &groups, now); // warm-up
    let best = (0..RUNS)
        .map(|_| run_staged(&rules, &posts, &names, &groups, now).0)
        .min()
        .unwrap_or_default();
    run_direct(&rules, &posts, &names, &groups, now); // warm-up
    let best_direct = (0..RUNS)
        .map(|_| run_direct(&rules, &posts, &names, &groups, now))
        .min()
        .unwrap_or_default();

    let rate = |d: Duration| pairs as f64 / d.as_secs_f64().max(1e-9) / 1e6;
    let n = posts.len().max(1) as f64;
    println!(
        "rules: {} rules, {} posts × {TENANTS} tenants = {pairs} pairs: best of {RUNS} {:.1} ms = {:.2} M pairs/s single-threaded \
         (direct evaluation without the per-post stage: {:.2} M pairs/s); per post {:.1} rules left for the tenants, {:.1} of them tenant-dependent; \
         per pair {:.1} rules matched, {:.0}% with an owner, {:.0}% with a due date, {:.1}% dismissed",
        rules.len(),
        posts.len(),
        best.as_secs_f64() * 1e3,
        rate(best),
        rate(best_direct),
        tally.live as f64 / n,
        tally.residual as f64 / n,
        tally.matched as f64 / tally.pairs.max(1) as f64,
        100.0 * tally.owners as f64 / tally.pairs.max(1) as f64,
        100.0 * tally.due as f64 / tally.pairs.max(1) as f64,
        100.0 * tally.dismissed as f64 / tally.pairs.max(1) as f64,
    );
    println!(
        "| benchmark | rules | pairs | best of {RUNS} | pairs/s (two-stage) | pairs/s (direct) |"
    );
    println!("|---|---|---|---|---|---|");
    println!(
        "| rules | {} | {pairs} ({} posts × {TENANTS} tenants) | {:.1} ms | {:.2} M | {:.2} M |",
        rules.len(),
        posts.len(),
        best.as_secs_f64() * 1e3,
        rate(best),
        rate(best_direct),
    );
}
