//! Message Center posts (`serviceUpdateMessage`): building one, editing one
//! as time passes, and the per-tenant `FeatureStatusJson` detail.

use rand::Rng;
use serde_json::{Value, json};

use crate::clock::{
    self, MONTHS, MS_PER_DAY, MS_PER_HOUR, MS_PER_MIN, MS_PER_SEC, day_of, iso, long_date,
    period_of, period_phrase, shift_dates, ymd,
};
use crate::rng::{
    SimRng, between, chance, from_quantiles, mix, pick, pick_some, stream, unit, weighted,
};
use crate::vocab::{
    AUDIENCES, BENEFITS, BLOG_LINKS, CAPABILITIES, COPILOT, EXTERNAL_LINKS, HELP_LINKS, MsgService,
    PLATFORM_SETS, SERVICES,
};

pub(crate) const WHEN_HEADING: &str = "[When this will happen:]";
pub(crate) const HOW_HEADING: &str = "[How this will affect your organization:]";
pub(crate) const PREPARE_HEADING: &str = "[What you need to do to prepare:]";
pub(crate) const UPDATED_TAG: &str = "Updated message";
pub(crate) const UPDATED_PREFIX: &str = "(Updated) ";

/// MC number a post published at `t` gets: about 800 ids a day, anchored so
/// that late August 2026 sits near MC1459000 as in the real feed.
pub(crate) fn mc_number_at(t: i64) -> u64 {
    const ANCHOR_MS: i64 = 1_787_356_800_000; // 2026-08-22T00:00:00Z
    let per_id = MS_PER_DAY / 800;
    let n = 1_459_000 + (t - ANCHOR_MS).div_euclid(per_id);
    n.clamp(100_000, 9_999_999) as u64
}

/// Days between a post's start and the corpus "now", as quantiles seen in a
/// real tenant's live feed (most posts are weeks old, a long tail years).
const AGE_DAYS: &[(f64, f64)] = &[
    (0.0, 0.0),
    (0.1, 8.0),
    (0.2, 21.0),
    (0.3, 35.0),
    (0.4, 53.0),
    (0.5, 73.0),
    (0.6, 99.0),
    (0.7, 144.0),
    (0.8, 205.0),
    (0.9, 302.0),
    (0.95, 346.0),
    (0.99, 568.0),
    (1.0, 1065.0),
];

/// Days from "now" until a live post expires.
const REMAINING_DAYS: &[(f64, f64)] = &[
    (0.0, 0.5),
    (0.1, 9.0),
    (0.2, 18.0),
    (0.3, 29.0),
    (0.4, 40.0),
    (0.5, 54.0),
    (0.6, 69.0),
    (0.7, 100.0),
    (0.8, 142.0),
    (0.9, 235.0),
    (0.95, 305.0),
    (0.99, 363.0),
    (1.0, 700.0),
];

/// Days from start to the "Act by" date.
const ACT_BY_DAYS: &[(f64, f64)] = &[
    (0.0, 3.0),
    (0.25, 20.0),
    (0.5, 30.0),
    (0.75, 65.0),
    (0.9, 150.0),
    (1.0, 400.0),
];

/// Hour of day (UTC) posts are published, from the real feed.
const START_HOURS: &[(i64, u32)] = &[
    (22, 214),
    (21, 111),
    (23, 105),
    (0, 77),
    (17, 76),
    (16, 35),
    (18, 33),
    (20, 19),
    (15, 19),
    (19, 17),
    (14, 15),
    (10, 14),
    (5, 11),
    (1, 10),
    (2, 9),
    (9, 9),
    (13, 8),
    (12, 7),
    (11, 6),
    (4, 3),
    (3, 3),
    (8, 3),
    (6, 1),
    (7, 1),
];

/// A start instant `age`-distributed before `base`, never after it.
pub(crate) fn sample_start(rng: &mut SimRng, base: i64) -> i64 {
    let age_days = from_quantiles(rng, AGE_DAYS);
    let t = base - (age_days * MS_PER_DAY as f64) as i64;
    let day = day_of(t);
    let hour = weighted(rng, START_HOURS);
    let mut s = day * MS_PER_DAY
        + hour * MS_PER_HOUR
        + between(rng, 0, MS_PER_HOUR / MS_PER_SEC - 1) * MS_PER_SEC;
    if chance(rng, 0.22) {
        s += between(rng, 1, 999);
    }
    while s > base {
        s -= MS_PER_DAY;
    }
    s
}

/// A random millisecond part shaped like Graph's: mostly three digits,
/// sometimes fewer once trailing zeros are trimmed, rarely none.
fn frac_ms(rng: &mut SimRng) -> i64 {
    let r: f64 = rng.random();
    if r < 0.03 {
        0
    } else if r < 0.07 {
        between(rng, 1, 9) * 100
    } else if r < 0.32 {
        between(rng, 1, 99) * 10
    } else {
        let v = between(rng, 1, 999);
        if v % 10 == 0 { v + 1 } else { v }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    NewFeature,
    FeatureUpdate,
    Retirement,
    AdminChange,
    Informational,
    Fix,
}

struct Slots<'a> {
    svc: &'a MsgService,
    product: &'a str,
    thing: &'a str,
    surface: &'a str,
    capability: &'a str,
    audience: &'a str,
    benefit: &'a str,
    month_year: String,
}

impl Slots<'_> {
    fn get(&self, key: &str) -> Option<String> {
        Some(match key {
            "product" => self.product.to_owned(),
            "Product" => cap(self.product),
            "thing" => self.thing.to_owned(),
            "Thing" => cap(self.thing),
            "surface" => self.surface.to_owned(),
            "capability" => self.capability.to_owned(),
            "Capability" => cap(self.capability),
            "audience" => self.audience.to_owned(),
            "Audience" => cap(self.audience),
            "benefit" => self.benefit.to_owned(),
            "month_year" => self.month_year.clone(),
            "service" => self.svc.name.trim_end().to_owned(),
            _ => return None,
        })
    }

    fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 64);
        self.fill_into(&mut out, template);
        out
    }

    fn fill_into(&self, out: &mut String, template: &str) {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let key = &after[..close];
                    match self.get(key) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push('{');
                            out.push_str(key);
                            out.push('}');
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
    }
}

fn cap(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn titles(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::NewFeature => &[
            "New {thing} experience in {surface}",
            "Introducing {thing} for {audience}",
            "{Thing} now supports {capability}",
            "{Capability} for {thing}",
            "{Thing} coming to {surface}",
            "Use {thing} with {capability}",
            "Preview of {thing} for {audience}",
            "{Thing} available in {surface}",
        ],
        Kind::FeatureUpdate => &[
            "Updates to {thing}",
            "Improvements to {thing} in {surface}",
            "Changes to how {thing} works with {capability}",
            "{Thing} will move to {surface}",
            "Updated default settings for {thing}",
            "Redesigned {thing} experience",
        ],
        Kind::Retirement => &[
            "Retirement of {thing}",
            "{Thing} is retiring",
            "{Thing} in {surface} will be retired",
            "Deprecation of {capability} in {thing}",
            "End of support for {thing} in {surface}",
        ],
        Kind::AdminChange => &[
            "New admin controls for {thing}",
            "{Thing} will be enabled by default",
            "Changes to licensing requirements for {thing}",
            "Admins can now manage {thing} with {capability}",
            "New policy settings for {thing}",
        ],
        Kind::Informational => &[
            "What's new in {thing} - {month_year}",
            "Monthly update for {thing}",
            "Reminder about upcoming changes to {thing}",
            "{month_year} updates for {surface}",
        ],
        Kind::Fix => &[
            "Action required to keep {thing} working",
            "Known issue with {thing} in {surface}",
            "Update {thing} configuration to avoid disruption",
            "Some users may see errors with {thing}",
            "Fix available for {thing} in {surface}",
        ],
    }
}

fn intros(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::NewFeature => &[
            "We're introducing {thing} in {surface}. With this update, {audience} will be able to {benefit} without leaving the app.",
            "{Product} will soon support {capability} for {thing}. This new capability helps {audience} {benefit}.",
            "Coming soon to {surface}: {thing}. This feature gives {audience} a faster way to {benefit}, and it builds on the existing {capability} settings in your tenant.",
            "To help {audience} {benefit}, {product} is adding {thing}. The feature is designed to work with {capability} so that existing controls continue to apply.",
        ],
        Kind::FeatureUpdate => &[
            "We're updating {thing} in {surface} to help {audience} {benefit}.",
            "Based on customer feedback, we're making changes to {thing}. These changes help {audience} {benefit} and align the experience across {surface}.",
            "{Product} is improving how {thing} works with {capability}. After this update, {audience} will notice a simpler, more consistent experience.",
        ],
        Kind::Retirement => &[
            "As part of our ongoing effort to modernize {product}, we're retiring {thing}. After the retirement date, {thing} will no longer be available in {surface}.",
            "We're retiring {thing} in {surface}. This change is part of our work to streamline the experience and help {audience} {benefit} with supported alternatives.",
            "{Thing} will be retired. Most organizations have already moved to newer options, and usage of {thing} has declined significantly.",
        ],
        Kind::AdminChange => &[
            "We're giving admins more control over {thing}. Starting with this update, admins can manage {thing} through {surface} and apply {capability} to scope who can use it.",
            "To help organizations {benefit}, {product} is changing the default configuration for {thing}. Admins can review and adjust the new setting in {surface}.",
        ],
        Kind::Informational => &[
            "This post summarizes recent and upcoming changes to {thing} so that {audience} can plan ahead.",
            "Join us for a look at what's changing in {thing}. We'll cover the latest updates for {surface} and answer questions from {audience}.",
        ],
        Kind::Fix => &[
            "We've identified an issue that may cause {thing} to stop working as expected for some {audience}. To avoid disruption, action is required before the date below.",
            "Some organizations that use {capability} with {thing} may experience errors. We're making a service change to address the issue, and some configurations need to be updated.",
        ],
    }
}

static EXTRA_INTRO: &[&str] = &[
    "This change applies to tenants in the Worldwide environment first, followed by government clouds.",
    "The experience is consistent across {surface}, so {audience} can pick up where they left off on any device.",
    "We'll continue to invest in {thing} and welcome your feedback through the Feedback Portal.",
    "This update is part of a broader set of improvements to {product} announced earlier this year.",
    "No data is moved or deleted as part of this change.",
    "The change was one of the most requested improvements from {audience} in the Feedback Portal.",
];

/// Longer background sentences for second paragraphs.
static CONTEXT: &[&str] = &[
    "Today, {audience} who want to use {thing} often have to switch between several tools, which slows them down and makes it harder to {benefit}.",
    "With this release, {thing} works with {capability}, so organizations can adopt it without changing the way they manage access today.",
    "Admins keep full control: the feature honors the policies already configured in {surface}, and changes are reflected in the audit log within a few minutes.",
    "We tested this change with a group of early adopters, who reported that it helped them {benefit} and reduced the number of support requests about {thing}.",
    "Because {thing} relies on {capability}, organizations that have restricted {capability} may see the feature only for users who are in scope of those settings.",
    "This message applies to {product} in all supported clouds unless otherwise noted in the rollout schedule below.",
    "Over the coming months, we'll share additional updates about {thing}, including reporting and management improvements for {audience}.",
    "If your organization has opted out of previous changes to {thing}, those settings will be respected.",
];

static FAQ: &[(&str, &str)] = &[
    (
        "Will {thing} be available in government clouds?",
        "Availability in GCC, GCC High, and DoD follows the Worldwide rollout. We will update this post with specific timelines when they are confirmed.",
    ),
    (
        "Can I turn off {thing} for some users only?",
        "Yes. Admins can scope {thing} to specific users or groups by using {capability} in {surface}. Changes can take up to 24 hours to take effect.",
    ),
    (
        "Does this change require additional licenses?",
        "No additional license is required for {audience} who already have access to {product}. Some advanced capabilities may require a premium license.",
    ),
    (
        "What happens to existing content created with {thing}?",
        "Existing content is not changed or deleted. It remains available in its current location and continues to follow your organization's retention settings.",
    ),
    (
        "How can I give feedback about {thing}?",
        "Users can send feedback from the Help menu in {surface}. Admins can also share feedback with their Microsoft account team.",
    ),
];

/// Notes after the rollout schedule.
static WHEN_NOTES: &[&str] = &[
    "We will update this post when we have more information about availability in government clouds.",
    "Rollout is gradual; some users in your organization may see {thing} before others.",
    "Timelines may change as we gather feedback from {audience} during the rollout.",
];

static HOW_BULLETS: &[&str] = &[
    "{Thing} will be available by default for {audience}.",
    "Admins can turn off {thing} in {surface}.",
    "Existing {capability} settings will continue to apply.",
    "This change does not affect content already stored in {product}.",
    "Users will see a new entry point for {thing} in {surface}.",
    "No changes are required to existing policies.",
    "The feature respects existing {capability} configurations.",
    "This feature is on by default and available to all eligible {audience}.",
    "Users without the required license will not see {thing}.",
    "Changes made by {audience} are recorded in the audit log.",
    "The experience is consistent across {surface} and mobile.",
    "There is no change to how data is stored or processed.",
    "Admins can use PowerShell to configure {thing} for specific groups.",
    "Users will see an in-product notification the first time they open {thing} after the change.",
    "The setting is available in {surface} under Settings > Org settings.",
    "Reports about {thing} usage will be available to admins within 48 hours of rollout.",
    "There is no impact to existing {capability} policies or assignments.",
    "{Audience} can opt out individually from the settings menu.",
    "Content created with {thing} follows the retention and sensitivity settings of its location.",
];

static RETIRE_BULLETS: &[&str] = &[
    "{Thing} will no longer be accessible in {surface} after the retirement date.",
    "Any workflows that rely on {thing} will need to move to a supported alternative.",
    "Existing data will remain available for export until the retirement date.",
    "Users who try to open {thing} after retirement will see a message that explains the change.",
];

static WHO_BULLETS: &[&str] = &[
    "{Audience} who use {thing} in {surface}",
    "Organizations that have enabled {capability}",
    "All tenants with {service} licenses",
    "Admins who manage {thing}",
];

static PREPARE_PARAS: &[&str] = &[
    "No action is required to prepare for this change. You may want to notify your users about this change and update any relevant training documentation.",
    "To prepare, review your current {capability} configuration and make any necessary changes before the rollout begins.",
    "This change will happen automatically by the specified date. No admin action is required before the rollout.",
    "We recommend that you review how your organization uses {thing} and share this information with your helpdesk.",
];

static RETIRE_PREPARE: &[&str] = &[
    "Admins should review workflows that depend on {thing} and plan to transition before the retirement date.",
    "Identify users who still rely on {thing} and help them move to a supported alternative before the retirement date.",
];

static PREPARE_BULLETS: &[&str] = &[
    "Update internal documentation, runbooks, and bookmarks that reference {thing}.",
    "Inform your helpdesk about the updated {thing} experience.",
    "Review your {capability} settings in {surface}.",
    "Test {thing} with a pilot group before broad deployment.",
    "Communicate this change to affected {audience}.",
    "Validate that any scripts that use {capability} continue to work as expected.",
    "Review the documentation linked below and decide whether to enable {thing} for all users or a pilot group first.",
    "Check that your network allows the endpoints used by {surface}.",
    "Update user training and adoption materials to reflect the new {thing} experience.",
];

static UPDATE_REASONS: &[&str] = &[
    "We have updated the rollout timeline below. Thank you for your patience.",
    "We have updated the timeline. Thank you for your patience.",
    "We have updated the content to provide additional details.",
    "We have updated this message with additional information about the rollout.",
];

static COMPLIANCE_ROWS: &[(&str, &[&str])] = &[
    (
        "Does the change introduce or significantly modify AI or machine learning capabilities that interact with customer data, and if so, what are the changes?",
        &[
            "No.",
            "Yes. {Thing} uses Copilot capabilities that process content the user already has access to.",
        ],
    ),
    (
        "Does this change affect how customer data is stored, processed, or shared?",
        &[
            "No. Data continues to be stored and processed in accordance with existing commitments.",
            "No.",
        ],
    ),
    (
        "Is the change enabled by default?",
        &[
            "Yes, for all eligible {audience}.",
            "No. Admins must opt in through {surface}.",
        ],
    ),
    (
        "Can admins control this change?",
        &[
            "Yes, through {surface}.",
            "Yes, by using PowerShell or {surface}.",
        ],
    ),
];

/// Everything one post needs from the generator apart from its randomness.
pub(crate) struct PostContext {
    pub seed: u64,
    pub id: u64,
    pub start: i64,
    /// The corpus "now": the post must be live (end after it) and already
    /// published and modified (start and lastModified not after it).
    pub base: i64,
}

/// Builds one post.
pub(crate) fn build_message(rng: &mut SimRng, ctx: &PostContext) -> Value {
    let PostContext {
        seed,
        id,
        start,
        base,
    } = *ctx;
    let age_days = (base - start) as f64 / MS_PER_DAY as f64;

    // services
    let svc_weights: Vec<(usize, u32)> = SERVICES
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.weight))
        .collect();
    let primary = &SERVICES[weighted(rng, &svc_weights)];
    let mut services = vec![primary.name];
    if chance(rng, 0.17) {
        let second = if primary.name != COPILOT && chance(rng, 0.4) {
            COPILOT
        } else {
            SERVICES[weighted(rng, &svc_weights)].name
        };
        if !services.contains(&second) {
            services.push(second);
        }
        if chance(rng, 0.1) {
            let third = SERVICES[weighted(rng, &svc_weights)].name;
            if !services.contains(&third) {
                services.push(third);
            }
        }
    }

    // category and kind
    let r: f64 = rng.random();
    let category = if r < 0.65 {
        "stayInformed"
    } else if r < 0.96 {
        "planForChange"
    } else {
        "preventOrFixIssue"
    };
    let r: f64 = rng.random();
    let kind = match category {
        "stayInformed" => match r {
            r if r < 0.65 => Kind::NewFeature,
            r if r < 0.85 => Kind::FeatureUpdate,
            _ => Kind::Informational,
        },
        "planForChange" => match r {
            r if r < 0.28 => Kind::Retirement,
            r if r < 0.5 => Kind::FeatureUpdate,
            r if r < 0.75 => Kind::NewFeature,
            _ => Kind::AdminChange,
        },
        _ => {
            if r < 0.8 {
                Kind::Fix
            } else {
                Kind::Retirement
            }
        }
    };
    let is_major = chance(
        rng,
        match category {
            "stayInformed" => 0.08,
            "planForChange" => 0.54,
            _ => 0.26,
        },
    );
    let r: f64 = rng.random();
    let severity = if r < 0.002 {
        "critical"
    } else if r < 0.012 {
        "high"
    } else {
        "normal"
    };

    // times
    let updated = age_days >= 1.0 && chance(rng, 0.45 * (1.0 - (-age_days / 20.0).exp()));
    let lm_raw = if updated {
        let u: f64 = rng.random();
        let back = ((base - start - MS_PER_DAY) as f64 * u * u) as i64;
        (base - back).max(start + MS_PER_HOUR)
    } else if chance(rng, 0.9) {
        start + between(rng, 1, 120) * MS_PER_SEC
    } else {
        start + between(rng, 2 * MS_PER_MIN, 5 * MS_PER_DAY)
    };
    let last_modified = (lm_raw - lm_raw.rem_euclid(MS_PER_SEC) + frac_ms(rng)).clamp(start, base);
    let remaining = from_quantiles(rng, REMAINING_DAYS);
    let mut end_day = day_of(base + (remaining * MS_PER_DAY as f64) as i64);
    end_day = end_day.max(day_of(start) + between(rng, 14, 30));
    let r: f64 = rng.random();
    let mut end = end_day * MS_PER_DAY
        + if r < 0.52 {
            7 * MS_PER_HOUR
        } else if r < 0.65 {
            8 * MS_PER_HOUR
        } else if r < 0.66 {
            23 * MS_PER_HOUR + 59 * MS_PER_MIN
        } else {
            between(rng, 0, MS_PER_DAY / MS_PER_SEC - 1) * MS_PER_SEC + frac_ms(rng)
        };
    while end <= base {
        end += MS_PER_DAY;
    }
    let act_by = {
        let p = match category {
            "planForChange" => 0.12,
            "preventOrFixIssue" => 0.3,
            _ => 0.004,
        };
        if chance(rng, p) {
            let d = day_of(start) + from_quantiles(rng, ACT_BY_DAYS) as i64;
            let r: f64 = rng.random();
            let tod = if r < 0.85 {
                7 * MS_PER_HOUR
            } else if r < 0.95 {
                8 * MS_PER_HOUR
            } else {
                16 * MS_PER_HOUR + 30 * MS_PER_MIN
            };
            Some(d * MS_PER_DAY + tod)
        } else {
            None
        }
    };

    // words
    let slots = Slots {
        svc: primary,
        product: pick(rng, primary.products),
        thing: pick(rng, primary.things),
        surface: pick(rng, primary.surfaces),
        capability: pick(rng, CAPABILITIES),
        audience: pick(rng, AUDIENCES),
        benefit: pick(rng, BENEFITS),
        month_year: {
            let (y, m, _) = ymd(start);
            format!("{} {y}", MONTHS[(m - 1) as usize])
        },
    };

    // tags
    let mut tags: Vec<&str> = Vec::with_capacity(5);
    // Windows and the Dynamics families mostly tag posts "Admin impact" only.
    let admin_only = matches!(
        primary.name,
        "Windows" | "Windows Autopatch" | "Dynamics 365 Apps" | "Finance and Operations Apps"
    ) && chance(rng, 0.8);
    if admin_only {
        tags.push("Admin impact");
    } else {
        match kind {
            Kind::NewFeature => tags.push("New feature"),
            Kind::FeatureUpdate => tags.push("Feature update"),
            Kind::AdminChange if chance(rng, 0.4) => tags.push("Feature update"),
            _ => {}
        }
        // (both, user only, admin only); the rest get neither
        let (both, user_only, admin_only) = match kind {
            Kind::NewFeature | Kind::FeatureUpdate => (0.55, 0.15, 0.1),
            Kind::Retirement => (0.7, 0.1, 0.15),
            Kind::AdminChange => (0.4, 0.0, 0.6),
            Kind::Informational => (0.08, 0.0, 0.92),
            Kind::Fix => (0.5, 0.03, 0.45),
        };
        let r: f64 = rng.random();
        if r < both + user_only {
            tags.push("User impact");
        }
        if r < both || (r >= both + user_only && r < both + user_only + admin_only) {
            tags.push("Admin impact");
        }
        if kind == Kind::Retirement {
            tags.push("Retirement");
        }
    }
    if chance(rng, 0.004) {
        tags.push("Deferred feature");
    }
    if chance(rng, 0.002) {
        tags.push("GDPR");
    }
    if chance(rng, 0.003) {
        tags.clear();
    }
    if updated {
        tags.insert(0, UPDATED_TAG);
    }

    // title
    let phrase = slots.fill(pick(rng, titles(kind)));
    let mut title = if (kind == Kind::Fix || act_by.is_some()) && chance(rng, 0.25) {
        format!("Action Required: {phrase}")
    } else {
        format!("{}: {phrase}", slots.product)
    };
    if updated {
        title.insert_str(0, UPDATED_PREFIX);
    }

    // roadmap ids and platforms
    let roadmap_ids: Vec<u64> = if chance(rng, primary.roadmap) {
        let first = (560_000.0 - age_days * 120.0) as i64 + between(rng, -4_000, 4_000);
        let first = first.max(100_000) as u64;
        let r: f64 = rng.random();
        let n = if r < 0.98 {
            1
        } else if r < 0.995 {
            2
        } else {
            3
        };
        (0..n)
            .map(|i| first + i * between(rng, 1, 40) as u64)
            .collect()
    } else {
        Vec::new()
    };
    let platforms: Option<&str> = if (!roadmap_ids.is_empty() && chance(rng, 0.98))
        || (roadmap_ids.is_empty() && chance(rng, 0.01))
    {
        Some(weighted(rng, PLATFORM_SETS))
    } else {
        None
    };
    let has_fsj = if roadmap_ids.is_empty() {
        chance(rng, 0.02)
    } else {
        chance(rng, 0.5)
    };

    // body
    let when = when_section(rng, kind, &slots, start);
    let mut body = String::with_capacity(4096);
    let bold = chance(rng, 0.5);
    let heading = |body: &mut String, h: &str| {
        if bold {
            body.push_str("<p><b>");
            body.push_str(h);
            body.push_str("</b></p>");
        } else {
            body.push_str("<p>");
            body.push_str(h);
            body.push_str("</p>");
        }
    };
    if bold && chance(rng, 0.5) {
        heading(&mut body, "[Introduction]");
    }
    body.push_str("<p>");
    slots.fill_into(&mut body, pick(rng, intros(kind)));
    for line in pick_some(rng, EXTRA_INTRO, 0, 2) {
        body.push(' ');
        slots.fill_into(&mut body, line);
    }
    body.push_str("</p>");
    if chance(rng, 0.5) {
        body.push_str("<p>");
        for (i, line) in pick_some(rng, CONTEXT, 1, 3).into_iter().enumerate() {
            if i > 0 {
                body.push(' ');
            }
            slots.fill_into(&mut body, line);
        }
        body.push_str("</p>");
    }
    if !roadmap_ids.is_empty() {
        roadmap_paragraph(rng, &mut body, &roadmap_ids);
    }
    heading(&mut body, WHEN_HEADING);
    body.push_str(&when.html);
    if chance(rng, 0.3) {
        body.push_str("<p>");
        slots.fill_into(&mut body, pick(rng, WHEN_NOTES));
        body.push_str("</p>");
    }

    heading(
        &mut body,
        if chance(rng, 0.78) {
            HOW_HEADING
        } else {
            "[How this affects your organization:]"
        },
    );
    if chance(rng, 0.55) {
        body.push_str("<p><i>Who is affected</i></p><ul>");
        for line in pick_some(rng, WHO_BULLETS, 1, 3) {
            body.push_str("<li>");
            slots.fill_into(&mut body, line);
            body.push_str("</li>");
        }
        body.push_str("</ul><p><i>What will happen</i></p>");
    } else {
        body.push_str("<p>");
        for (i, line) in pick_some(rng, CONTEXT, 1, 2).into_iter().enumerate() {
            if i > 0 {
                body.push(' ');
            }
            slots.fill_into(&mut body, line);
        }
        body.push_str("</p>");
    }
    body.push_str("<ul>");
    let mut bullets = Vec::with_capacity(9);
    if kind == Kind::Retirement {
        bullets.extend(pick_some(rng, RETIRE_BULLETS, 2, 3));
    }
    bullets.extend(pick_some(rng, HOW_BULLETS, 2, 7));
    for line in bullets {
        body.push_str("<li>");
        if chance(rng, 0.15) {
            body.push_str("<b>");
            slots.fill_into(&mut body, line);
            body.push_str("</b>");
        } else {
            slots.fill_into(&mut body, line);
        }
        body.push_str("</li>");
    }
    body.push_str("</ul>");
    if chance(rng, 0.3) {
        body.push_str("<p><i>Platforms and services</i></p><ul>");
        for surface in pick_some(rng, primary.surfaces, 1, 3) {
            body.push_str("<li>");
            body.push_str(&cap(surface));
            body.push_str("</li>");
        }
        body.push_str("</ul>");
    }
    if chance(rng, 0.2) {
        body.push_str(
            "<p><img src=\"https://cxcs.microsoft.net/static/public/messagecenter/neutral/",
        );
        push_hex(rng, &mut body, 32, true);
        body.push('/');
        push_hex(rng, &mut body, 40, false);
        body.push_str(".png\" style=\"width: 400px;\"></p>");
    }

    heading(
        &mut body,
        if chance(rng, 0.78) {
            PREPARE_HEADING
        } else {
            "[What you can do to prepare:]"
        },
    );
    body.push_str("<p>");
    let prep_pool = if kind == Kind::Retirement {
        RETIRE_PREPARE
    } else {
        PREPARE_PARAS
    };
    slots.fill_into(&mut body, pick(rng, prep_pool));
    body.push_str("</p>");
    if chance(rng, 0.75) {
        body.push_str("<ul>");
        for line in pick_some(rng, PREPARE_BULLETS, 1, 5) {
            body.push_str("<li>");
            slots.fill_into(&mut body, line);
            body.push_str("</li>");
        }
        body.push_str("</ul>");
    }
    if chance(rng, 0.6) {
        body.push_str("<p><b>Learn more:</b> <a href=\"https://learn.microsoft.com/");
        body.push_str(primary.docs);
        body.push('/');
        push_slug(&mut body, slots.thing);
        body.push_str("\" target=\"_blank\">");
        body.push_str(&cap(slots.thing));
        body.push_str(" overview | Microsoft Learn</a></p>");
    }
    if chance(rng, 0.6) {
        heading(
            &mut body,
            if chance(rng, 0.5) {
                "[Compliance considerations]"
            } else {
                "[Compliance considerations:]"
            },
        );
        if chance(rng, 0.25) {
            body.push_str("<p>No compliance considerations identified. Review as appropriate for your organization.</p>");
        } else {
            body.push_str("<table class=\"table table-bordered\"><tbody><tr><td>Question</td><td>Answer</td></tr>");
            for (q, answers) in pick_some(rng, COMPLIANCE_ROWS, 1, COMPLIANCE_ROWS.len()) {
                body.push_str("<tr><td>");
                body.push_str(q);
                body.push_str("</td><td>");
                slots.fill_into(&mut body, pick(rng, answers));
                body.push_str("</td></tr>");
            }
            body.push_str("</tbody></table>");
        }
    }
    if chance(rng, 0.3) {
        heading(&mut body, "[Frequently asked questions:]");
        for (q, a) in pick_some(rng, FAQ, 2, 4) {
            body.push_str("<p><i>");
            slots.fill_into(&mut body, q);
            body.push_str("</i></p><p>");
            slots.fill_into(&mut body, a);
            body.push_str("</p>");
        }
    }
    let mut extra = 0;
    while body.len() < 1_100 {
        body.push_str("<p>");
        slots.fill_into(&mut body, CONTEXT[extra % CONTEXT.len()]);
        body.push_str("</p>");
        extra += 1;
    }

    // summary
    let summary = if chance(rng, if age_days > 365.0 { 0.25 } else { 0.72 }) {
        Some(summary_text(rng, kind, &slots, &when))
    } else {
        None
    };

    // earlier edits: move the dates once and say so at the top
    let (mut body, summary) = if updated {
        let thirds = between(rng, 1, 3);
        let days = between(rng, 7, 45);
        let body = shift_when_section(&body, thirds, days);
        let summary = summary.map(|s| shift_dates(&s, thirds, days, false).0);
        (body, summary)
    } else {
        (body, summary)
    };
    if updated {
        let reason = pick(rng, UPDATE_REASONS);
        body = set_updated_line(&body, last_modified, reason);
    }

    // details
    let mut details: Vec<Value> = Vec::with_capacity(6);
    if !roadmap_ids.is_empty() {
        let v: Vec<String> = roadmap_ids.iter().map(u64::to_string).collect();
        details.push(json!({"name": "RoadmapIds", "value": v.join(",")}));
    }
    if has_fsj {
        let key = roadmap_ids.first().copied().unwrap_or(0);
        let ios_upper = unit(mix(&[stream::ROLLOUT, seed, id, 77])) < 0.8;
        let plats = fsj_platforms(platforms.unwrap_or("Desktop, Mac"), ios_upper);
        let fsj = feature_status_json(seed, SHARED_VIEW, id, key, &plats, start, base);
        details.push(json!({"name": "FeatureStatusJson", "value": fsj}));
    }
    if let Some(s) = summary {
        details.push(json!({"name": "Summary", "value": s}));
    }
    if let Some(p) = platforms {
        details.push(json!({"name": "Platforms", "value": p}));
    }
    if chance(rng, 0.005) {
        details.push(json!({"name": "BlogLink", "value": pick(rng, BLOG_LINKS)}));
    }
    if chance(rng, 0.015) {
        details.push(json!({"name": "ExternalLink", "value": pick(rng, EXTERNAL_LINKS)}));
    }
    if chance(rng, 0.003) {
        details.push(json!({"name": "HelpLink", "value": pick(rng, HELP_LINKS)}));
    }

    body.shrink_to_fit();
    json!({
        "startDateTime": iso(start),
        "endDateTime": iso(end),
        "lastModifiedDateTime": iso(last_modified),
        "title": title,
        "id": format!("MC{id}"),
        "category": category,
        "severity": severity,
        "tags": tags,
        "isMajorChange": is_major,
        "actionRequiredByDateTime": act_by.map(iso),
        "services": services,
        "hasAttachments": false,
        "viewPoint": null,
        "details": details,
        "body": {"contentType": "html", "content": body},
    })
}

fn push_hex(rng: &mut SimRng, out: &mut String, n: usize, guid: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in 0..n {
        if guid && matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(HEX[rng.random_range(0..16)] as char);
    }
}

fn push_slug(out: &mut String, s: &str) {
    let mut dash = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            if dash && !out.ends_with('/') {
                out.push('-');
            }
            dash = false;
            out.push(c.to_ascii_lowercase());
        } else {
            dash = true;
        }
    }
}

fn roadmap_paragraph(rng: &mut SimRng, body: &mut String, ids: &[u64]) {
    let r: f64 = rng.random();
    let base = if r < 0.9 {
        "https://www.microsoft.com/microsoft-365/roadmap?filters=&amp;searchterms="
    } else if r < 0.95 {
        "https://www.microsoft.com/en-us/microsoft-365/roadmap?filters=&amp;searchterms="
    } else {
        "https://www.microsoft.com//microsoft-365/roadmap?filters=&amp;searchterms="
    };
    let trailing = if chance(rng, 0.02) { "%2C" } else { "" };
    body.push_str(if ids.len() == 1 {
        "<p>This message is associated with Microsoft 365 Roadmap ID "
    } else {
        "<p>This message is associated with Microsoft 365 Roadmap IDs "
    });
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            body.push_str(", ");
        }
        body.push_str("<a href=\"");
        body.push_str(base);
        body.push_str(&id.to_string());
        body.push_str(trailing);
        body.push_str("\" target=\"_blank\">");
        body.push_str(&id.to_string());
        body.push_str("</a>");
    }
    body.push_str(".</p>");
}

/// The "[When this will happen:]" section and the dates it names.
struct When {
    html: String,
    begin: String,
    end: String,
    retire_day: Option<String>,
}

fn when_section(rng: &mut SimRng, kind: Kind, slots: &Slots<'_>, start: i64) -> When {
    let mut html = String::with_capacity(512);
    match kind {
        Kind::Retirement | Kind::Fix => {
            let day = day_of(start) + between(rng, 30, 240);
            let date = long_date(day * MS_PER_DAY);
            let begin = period_of(start + between(rng, 7, 25) * MS_PER_DAY);
            if kind == Kind::Retirement {
                html.push_str("<p>");
                html.push_str(&cap(slots.thing));
                html.push_str(" will be retired on <b>");
            } else {
                html.push_str("<p>This change will take effect on <b>");
            }
            html.push_str(&date);
            html.push_str("</b>.</p>");
            if chance(rng, 0.7) {
                html.push_str("<p>Beginning ");
                html.push_str(&period_phrase(begin));
                html.push_str(", we will start showing in-product notifications to ");
                html.push_str(slots.audience);
                html.push_str(".</p>");
            }
            When {
                html,
                begin: period_phrase(begin),
                end: date.clone(),
                retire_day: Some(date),
            }
        }
        _ => {
            let mut begin_ms = start + between(rng, 14, 75) * MS_PER_DAY;
            let list = chance(rng, 0.35);
            if list {
                html.push_str("<ul>");
            }
            let (open, close) = if list {
                ("<li>", "</li>")
            } else {
                ("<p>", "</p>")
            };
            if chance(rng, 0.2) {
                html.push_str(open);
                html.push_str("Public Preview (Worldwide): Available now.");
                html.push_str(close);
            }
            if chance(rng, 0.4) {
                let tr = start + between(rng, 7, 30) * MS_PER_DAY;
                let tr_end = tr + between(rng, 10, 30) * MS_PER_DAY;
                rollout_line(rng, &mut html, open, close, "Targeted Release", tr, tr_end);
                begin_ms = begin_ms.max(tr_end + between(rng, 0, 20) * MS_PER_DAY);
            }
            let end_ms = begin_ms + between(rng, 14, 60) * MS_PER_DAY;
            let ring = pick(
                rng,
                &[
                    "General Availability (Worldwide)",
                    "General Availability (Worldwide)",
                    "General Availability (Worldwide, GCC, GCC High, DoD)",
                    "General Availability (Worldwide and GCC)",
                ],
            );
            rollout_line(rng, &mut html, open, close, ring, begin_ms, end_ms);
            if !ring.contains("GCC") && chance(rng, 0.3) {
                let g = end_ms + between(rng, 7, 45) * MS_PER_DAY;
                let g_end = g + between(rng, 14, 45) * MS_PER_DAY;
                rollout_line(
                    rng,
                    &mut html,
                    open,
                    close,
                    "General Availability (GCC, GCC High, DoD)",
                    g,
                    g_end,
                );
            }
            if list {
                html.push_str("</ul>");
            }
            When {
                html,
                begin: period_phrase(period_of(begin_ms)),
                end: period_phrase(period_of(end_ms)),
                retire_day: None,
            }
        }
    }
}

fn rollout_line(
    rng: &mut SimRng,
    html: &mut String,
    open: &str,
    close: &str,
    ring: &str,
    from: i64,
    to: i64,
) {
    let b = period_phrase(period_of(from));
    let e = period_phrase(period_of(to));
    html.push_str(open);
    html.push_str(ring);
    html.push_str(": ");
    if chance(rng, 0.6) {
        html.push_str("We will begin rolling out ");
        html.push_str(&b);
        html.push_str(" and expect to complete by ");
        html.push_str(&e);
        html.push('.');
    } else {
        html.push_str("Rollout will begin in <b>");
        html.push_str(&b);
        html.push_str("</b> and is expected to complete by <b>");
        html.push_str(&e);
        html.push_str("</b>.");
    }
    html.push_str(close);
}

fn summary_text(rng: &mut SimRng, kind: Kind, slots: &Slots<'_>, when: &When) -> String {
    let mut s = String::with_capacity(360);
    match kind {
        Kind::Retirement => {
            s.push_str(&cap(slots.thing));
            s.push_str(" in ");
            s.push_str(slots.product);
            s.push_str(" will be retired on ");
            s.push_str(when.retire_day.as_deref().unwrap_or(&when.end));
            s.push_str(". Notifications start ");
            s.push_str(&when.begin);
            s.push_str(". ");
            s.push_str(&cap(slots.audience));
            s.push_str(" should move to supported alternatives, and admins should review dependent workflows and update documentation before the retirement date.");
        }
        Kind::Fix => {
            s.push_str(&cap(slots.product));
            s.push_str(" requires action to keep ");
            s.push_str(slots.thing);
            s.push_str(" working for ");
            s.push_str(slots.audience);
            s.push_str(". The change takes effect on ");
            s.push_str(&when.end);
            s.push_str(". Admins should review ");
            s.push_str(slots.capability);
            s.push_str(" settings and update affected configurations to avoid disruption.");
        }
        _ => {
            let verb = match kind {
                Kind::NewFeature => "will introduce",
                Kind::FeatureUpdate => "will update",
                Kind::AdminChange => "will add new admin controls for",
                _ => "shares updates about",
            };
            s.push_str(slots.product);
            s.push(' ');
            s.push_str(verb);
            s.push(' ');
            s.push_str(slots.thing);
            s.push_str(" in ");
            s.push_str(slots.surface);
            s.push_str(", helping ");
            s.push_str(slots.audience);
            s.push(' ');
            s.push_str(slots.benefit);
            s.push_str(". Rollout begins ");
            s.push_str(&when.begin);
            s.push_str(" and completes by ");
            s.push_str(&when.end);
            s.push_str(". ");
            s.push_str(pick(
                rng,
                &[
                    "No admin action is required.",
                    "No admin action is required, but user notification is recommended.",
                    "Admins should review related settings before rollout.",
                    "The feature is on by default and existing policies continue to apply.",
                ],
            ));
        }
    }
    s
}

/// Byte range of the "[When this will happen:]" section's content: from
/// after its heading paragraph to the start of the next bracketed heading.
pub(crate) fn when_section_range(body: &str) -> Option<(usize, usize)> {
    let h = body.find(WHEN_HEADING)?;
    let after_heading = body[h..]
        .find("</p>")
        .map_or(h + WHEN_HEADING.len(), |i| h + i + 4);
    let rest = &body[after_heading..];
    let next = [rest.find("<p>["), rest.find("<p><b>[")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(rest.len());
    Some((after_heading, after_heading + next))
}

/// Moves the dates named in the "[When this will happen:]" section.
pub(crate) fn shift_when_section(body: &str, thirds: i64, days: i64) -> String {
    match when_section_range(body) {
        Some((a, b)) => {
            let (moved, _) = shift_dates(&body[a..b], thirds, days, true);
            let mut out = String::with_capacity(body.len() + 64);
            out.push_str(&body[..a]);
            out.push_str(&moved);
            out.push_str(&body[b..]);
            out
        }
        None => body.to_owned(),
    }
}

/// Puts "<p>Updated August 14, 2026: reason</p>" at the top of the body,
/// replacing an earlier such line.
pub(crate) fn set_updated_line(body: &str, when: i64, reason: &str) -> String {
    let rest = if body.starts_with("<p>Updated ") {
        body.find("</p>").map_or(body, |i| &body[i + 4..])
    } else {
        body
    };
    let mut out = String::with_capacity(body.len() + 128);
    out.push_str("<p>Updated ");
    out.push_str(&long_date(when));
    out.push_str(": ");
    out.push_str(reason);
    out.push_str("</p>");
    out.push_str(rest);
    out
}

/// Edits a post as Microsoft does when a timeline slips: marks it updated,
/// moves the dates in its "[When this will happen:]" section and summary,
/// sometimes the "Act by" date, and stamps a new `lastModifiedDateTime`
/// in `(from, to]`, strictly after the old one.
pub(crate) fn edit_message(rng: &mut SimRng, msg: &mut Value, from: i64, to: i64) {
    let old_lm = msg["lastModifiedDateTime"]
        .as_str()
        .and_then(clock::parse_ms)
        .unwrap_or(from);
    let lo = (from + MS_PER_SEC).max(old_lm + MS_PER_SEC);
    let t = between(rng, lo, to.max(lo));
    let new_lm = (t - t.rem_euclid(MS_PER_SEC) + frac_ms(rng))
        .min(to.max(old_lm + 1))
        .max(old_lm + 1);
    let thirds = between(rng, 1, 4);
    let days = between(rng, 7, 60);

    if let Some(title) = msg["title"].as_str()
        && !title.starts_with(UPDATED_PREFIX)
    {
        msg["title"] = Value::String(format!("{UPDATED_PREFIX}{title}"));
    }
    if let Some(tags) = msg["tags"].as_array_mut()
        && !tags.iter().any(|t| t == UPDATED_TAG)
    {
        tags.insert(0, Value::String(UPDATED_TAG.to_owned()));
    }
    if let Some(content) = msg["body"]["content"].as_str() {
        let moved = shift_when_section(content, thirds, days);
        let reason = pick(rng, UPDATE_REASONS);
        msg["body"]["content"] = Value::String(set_updated_line(&moved, new_lm, reason));
    }
    if let Some(details) = msg["details"].as_array_mut() {
        for d in details.iter_mut() {
            if d["name"] == "Summary"
                && let Some(s) = d["value"].as_str()
            {
                let (moved, _) = shift_dates(s, thirds, days, false);
                d["value"] = Value::String(moved);
            }
        }
    }
    if let Some(act) = msg["actionRequiredByDateTime"]
        .as_str()
        .and_then(clock::parse_ms)
        && chance(rng, 0.4)
    {
        msg["actionRequiredByDateTime"] = Value::String(iso(act + days * MS_PER_DAY));
    }
    if let Some(end) = msg["endDateTime"].as_str().and_then(clock::parse_ms)
        && chance(rng, 0.6)
    {
        msg["endDateTime"] = Value::String(iso(end + thirds * 10 * MS_PER_DAY));
    }
    msg["lastModifiedDateTime"] = Value::String(iso(new_lm));
}

/// The `who` of the shared (tenant-agnostic) view of a post.
pub(crate) const SHARED_VIEW: u64 = u64::MAX;

const FSJ_PLATFORMS: &[(&str, &str)] = &[
    ("Desktop", "Desktop"),
    ("Linux", "Linux"),
    ("Mac", "Mac"),
    ("Web", "Web"),
    ("Android", "Android"),
    ("iOS", "IOS"),
];

/// Platforms of a `FeatureStatusJson` from a `Platforms` detail. The
/// casing of iOS varies in real data ("IOS" mostly).
fn fsj_platforms(platforms: &str, ios_upper: bool) -> Vec<String> {
    let mut out: Vec<String> = FSJ_PLATFORMS
        .iter()
        .filter(|(name, _)| platforms.split(", ").any(|p| p == *name))
        .map(|(name, fsj)| {
            if *name == "iOS" && !ios_upper {
                (*name).to_owned()
            } else {
                (*fsj).to_owned()
            }
        })
        .collect();
    if out.is_empty() {
        out = vec!["Desktop".to_owned(), "Mac".to_owned()];
    }
    out.push("All".to_owned());
    out
}

const NOT_SUPPORTED: &str = "FeatureRolloutStatusNotSupported";

/// One tenant's rollout state of one platform at `now`:
/// (status, last update ms, sub-ms ticks, latest ring).
fn platform_status(
    seed: u64,
    who: u64,
    mc: u64,
    platform: &str,
    start: i64,
    now: i64,
) -> (&'static str, i64, u32, Option<&'static str>) {
    let p = platform
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let h = |k: u64| mix(&[stream::ROLLOUT, seed, who, mc, p, k]);
    let ticks = (h(9) % 10_000) as u32;
    let p_ns = match platform {
        "Linux" => 0.75,
        "Android" | "IOS" | "iOS" => 0.4,
        _ => 0.3,
    };
    let jitter = (h(8) % (MS_PER_HOUR as u64)) as i64;
    if unit(h(1)) < p_ns {
        let t = start + (h(2) % (2 * MS_PER_DAY as u64)) as i64 + jitter;
        return (NOT_SUPPORTED, t.min(now), ticks, None);
    }
    let scheduled = start + (h(3) % (3 * MS_PER_DAY as u64)) as i64 + jitter;
    let rolling = start + 10 * MS_PER_DAY + (h(4) % (80 * MS_PER_DAY as u64)) as i64 + jitter;
    let launched = rolling + 5 * MS_PER_DAY + (h(5) % (50 * MS_PER_DAY as u64)) as i64;
    let (status, at) = if now >= launched {
        ("Launched", launched)
    } else if now >= rolling {
        ("InRollout", rolling)
    } else {
        ("Scheduled", scheduled.min(now))
    };
    let ring = if status == "Scheduled" {
        None
    } else {
        let u = unit(h(6));
        if u < 0.1 {
            Some("DeferredRelease")
        } else if u < 0.25 {
            Some("StandardRelease")
        } else {
            None
        }
    };
    (status, at, ticks, ring)
}

/// The `FeatureStatusJson` detail value as `who` (a tenant index, or
/// [`SHARED_VIEW`]) sees it at `now`. The "All" platform summarizes the
/// others. Keys appear in the order of the real feed.
pub(crate) fn feature_status_json(
    seed: u64,
    who: u64,
    mc: u64,
    roadmap_id: u64,
    platforms: &[String],
    start: i64,
    now: i64,
) -> String {
    let mut entries: Vec<(String, &'static str, i64, u32, Option<&'static str>)> =
        Vec::with_capacity(platforms.len());
    for plat in platforms.iter().filter(|p| *p != "All") {
        let (status, at, ticks, ring) = platform_status(seed, who, mc, plat, start, now);
        entries.push((plat.clone(), status, at, ticks, ring));
    }
    if platforms.iter().any(|p| p == "All") {
        let supported: Vec<&str> = entries
            .iter()
            .map(|e| e.1)
            .filter(|s| *s != NOT_SUPPORTED)
            .collect();
        let status = if supported.is_empty() {
            NOT_SUPPORTED
        } else if supported.iter().all(|s| *s == "Launched") {
            "Launched"
        } else if supported.iter().any(|s| *s != "Scheduled") {
            "InRollout"
        } else {
            "Scheduled"
        };
        let at = entries.iter().map(|e| e.2).max().unwrap_or(start.min(now));
        let ticks = entries
            .iter()
            .map(|e| e.3)
            .max()
            .unwrap_or(0)
            .wrapping_add(3)
            % 10_000;
        let ring = entries.iter().find_map(|e| e.4);
        entries.push(("All".to_owned(), status, at, ticks, ring));
    }
    let mut s = String::with_capacity(64 + entries.len() * 200);
    s.push_str("{\"");
    s.push_str(&roadmap_id.to_string());
    s.push_str("\":[");
    for (i, (plat, status, at, ticks, ring)) in entries.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str("{\"RoadmapId\":");
        s.push_str(&roadmap_id.to_string());
        s.push_str(",\"McPostId\":\"MC");
        s.push_str(&mc.to_string());
        s.push_str("\",\"Platform\":\"");
        s.push_str(plat);
        s.push_str("\",\"Status\":\"");
        s.push_str(status);
        s.push_str("\",\"LastUpdateTime\":\"");
        s.push_str(&clock::iso_ticks(*at, *ticks));
        s.push_str("\",\"LatestRing\":");
        match ring {
            Some(r) => {
                s.push('"');
                s.push_str(r);
                s.push('"');
            }
            None => s.push_str("null"),
        }
        s.push_str(",\"TenantRolloutRing\":null}");
    }
    s.push_str("]}");
    s
}

/// What a post's `FeatureStatusJson` detail is computed from: everything
/// but the viewer and the time.
#[derive(Debug, Clone)]
pub(crate) struct FeatureStatusSource {
    mc: u64,
    roadmap_id: u64,
    platforms: Vec<String>,
    start: i64,
}

impl FeatureStatusSource {
    /// The detail value as `who` sees it at `now`.
    pub(crate) fn render(&self, seed: u64, who: u64, now: i64) -> String {
        feature_status_json(
            seed,
            who,
            self.mc,
            self.roadmap_id,
            &self.platforms,
            self.start,
            now,
        )
    }
}

/// The sources of a post's `FeatureStatusJson` details, with the index of
/// each detail in `details`; empty for a post without an MC id or without
/// such a detail. `now` stands in for a missing `startDateTime`.
pub(crate) fn feature_status_sources(msg: &Value, now: i64) -> Vec<(usize, FeatureStatusSource)> {
    let Some(mc) = msg["id"]
        .as_str()
        .and_then(|s| s.strip_prefix("MC"))
        .and_then(|s| s.parse::<u64>().ok())
    else {
        return Vec::new();
    };
    let Some(details) = msg["details"].as_array() else {
        return Vec::new();
    };
    if !details.iter().any(|d| d["name"] == "FeatureStatusJson") {
        return Vec::new();
    }
    let start = msg["startDateTime"]
        .as_str()
        .and_then(clock::parse_ms)
        .unwrap_or(now);
    let mut out = Vec::new();
    for (i, d) in details.iter().enumerate() {
        if d["name"] != "FeatureStatusJson" {
            continue;
        }
        let Some(parsed) = d["value"]
            .as_str()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
        else {
            continue;
        };
        let Some((key, list)) = parsed.as_object().and_then(|o| o.iter().next()) else {
            continue;
        };
        let roadmap_id = key.parse::<u64>().unwrap_or(0);
        let platforms: Vec<String> = list
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["Platform"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            i,
            FeatureStatusSource {
                mc,
                roadmap_id,
                platforms,
                start,
            },
        ));
    }
    out
}

/// Recomputes a post's `FeatureStatusJson` detail (if it has one) for `who`
/// at `now`, keeping its roadmap key and platform list.
pub(crate) fn refresh_feature_status(msg: &mut Value, seed: u64, who: u64, now: i64) {
    for (i, source) in feature_status_sources(msg, now) {
        msg["details"][i]["value"] = Value::String(source.render(seed, who, now));
    }
}

#[cfg(test)]
pub(crate) fn days_since_epoch(y: i64, m: u32, d: u32) -> i64 {
    clock::days_from_civil(y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::rng_for;

    #[test]
    fn mc_numbers_track_the_real_feed() {
        let t = days_since_epoch(2025, 2, 14) * MS_PER_DAY;
        let n = mc_number_at(t);
        assert!((950_000..1_060_000).contains(&n), "{n}");
        let now = days_since_epoch(2026, 8, 22) * MS_PER_DAY;
        assert_eq!(mc_number_at(now), 1_459_000);
    }

    #[test]
    fn when_section_is_found_and_shifted() {
        let mut rng = rng_for(&[1, 2, 3]);
        let base = days_since_epoch(2026, 8, 22) * MS_PER_DAY;
        for id in 0..50 {
            let start = sample_start(&mut rng, base);
            let msg = build_message(
                &mut rng,
                &PostContext {
                    seed: 1,
                    id: 1_000_000 + id,
                    start,
                    base,
                },
            );
            let body = msg["body"]["content"].as_str().unwrap();
            let (a, b) = when_section_range(body).unwrap();
            assert!(
                !clock::find_date_tokens(&body[a..b]).is_empty(),
                "no date in {}",
                &body[a..b]
            );
            let moved = shift_when_section(body, 1, 10);
            assert_ne!(moved, body);
        }
    }

    #[test]
    fn fsj_platform_mapping() {
        assert_eq!(
            fsj_platforms("Android, Desktop, iOS, Mac, Web", true),
            vec!["Desktop", "Mac", "Web", "Android", "IOS", "All"]
        );
        assert_eq!(
            fsj_platforms("TeamsAndSurfaceDevices", true),
            vec!["Desktop", "Mac", "All"]
        );
    }
}
