//! A post's rollout timeline, read from its body (issue 20).
//!
//! Graph's own dates say little (`startDateTime` is the publication date,
//! `actionRequiredByDateTime` is rarely set): the rollout dates live in the
//! body's `[When this will happen:]` section, one line per ring and cloud
//! ("General Availability (Worldwide, GCC): We will begin rolling out
//! mid-May 2026 (previously early May) and expect to complete by late June
//! 2026."). [`extract`] reads them into [`Phase`]s at the precision Microsoft
//! gives them, and what they were before into [`Previously`].
//!
//! How the text is read:
//! - Dates ([`parse_when`]): `mid-May 2026` (early / mid / late: days 1–10,
//!   11–20, 21 to the month's end; `end of May` and `beginning of May` count
//!   as late and early), `May 2026` (the month), `May 15, 2026`,
//!   `15 May 2026`, `2026-05-15` and `May 2–6, 2026` (days), `Q2 2026`,
//!   `CY2026 Q2`, `second quarter of 2026` (three months), `second half of
//!   2026`. A date without a year takes the year that puts it nearest the
//!   date before it in the same sentence (or, failing that, the next dated
//!   one: `mid-May to late June 2026`); alone, the next occurrence on or
//!   after the reference month.
//! - Where: the `When this will happen` section and its variants (`When will
//!   this happen`, `Rollout schedule`, `Updated timeline`), and, anywhere,
//!   lines labelled with a ring (`Targeted Release: …`). A post with neither
//!   yields the sentences that date a rollout or a retirement.
//! - Each line is split at its label (`General Availability (GCC, DoD):`),
//!   which names the ring and the clouds; a line with no date under it is a
//!   heading whose ring and clouds the following lines inherit. A phase names
//!   one cloud: a label naming several yields one phase per cloud; naming
//!   none, the cloud is worldwide.
//! - In a sentence, a date after "complete", "through", "until" (or right
//!   after another date joined by "to" or a dash) is the end; the first
//!   other date is the start (a date after "begin", "start", "from" wins).
//!   `(previously late April)` is kept in [`Timeline::previously`], not in
//!   the phase.
//! - Nothing is invented: a ring named without a date that parses keeps its
//!   phase with neither start nor end, and its text.
//!
//! Outside text is never indexed by byte position: everything here walks
//! characters.

use serde::{Deserialize, Serialize, Serializer};
use time::{Date, Month};

use crate::text::clip_chars;

/// The longest `text` of a phase, in characters (longer ones end in `…`).
pub const MAX_TEXT_CHARS: usize = 300;

/// The stage of a rollout a phase belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ring {
    PublicPreview,
    TargetedRelease,
    GeneralAvailability,
    Retirement,
    Other,
}

/// The Microsoft cloud a phase is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    Worldwide,
    Gcc,
    GccHigh,
    Dod,
    Other,
}

/// Days from `from` to `to`, both included; a single day has `from == to`.
/// Serialized as `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateRange {
    pub from: Date,
    pub to: Date,
}

/// Which end of a phase a date is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    Start,
    End,
}

/// One ring's rollout in one cloud.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    pub ring: Ring,
    pub cloud: Cloud,
    pub start: Option<DateRange>,
    pub end: Option<DateRange>,
    /// The sentence the phase was read from, trimmed, at most
    /// [`MAX_TEXT_CHARS`] characters.
    pub text: String,
}

/// A date a phase had before Microsoft moved it: `(previously late April)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Previously {
    pub ring: Ring,
    pub cloud: Cloud,
    /// Which of the phase's dates it was.
    pub bound: Bound,
    /// `None` when the text names no date that parses ("previously TBD").
    pub was: Option<DateRange>,
    /// What the post says, e.g. `previously late April`.
    pub text: String,
}

/// A post's timeline, in the order of its body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub phases: Vec<Phase>,
    pub previously: Vec<Previously>,
}

impl DateRange {
    /// One day.
    pub fn day(d: Date) -> DateRange {
        DateRange { from: d, to: d }
    }

    /// The range as Microsoft would write it: `2026-05-15` (a day),
    /// `early May 2026` / `mid-May 2026` / `late May 2026` (days 1–10,
    /// 11–20, 21 to the end), `May 2026` (the month), `Q2 2026` (a
    /// quarter), else `2026-05-11 – 2026-06-20`.
    pub fn describe(&self) -> String {
        let (f, t) = (self.from, self.to);
        if f == t {
            return iso(f);
        }
        let month_end = |d: Date| d.month().length(d.year());
        let name = |d: Date| format!("{} {}", d.month(), d.year());
        if f.year() == t.year() && f.month() == t.month() {
            let last = month_end(t);
            match (f.day(), t.day()) {
                (1, d) if d == last => return name(f),
                (1, 10) => return format!("early {}", name(f)),
                (11, 20) => return format!("mid-{}", name(f)),
                (21, d) if d == last => return format!("late {}", name(f)),
                _ => {}
            }
        }
        let quarter_start = matches!(
            f.month(),
            Month::January | Month::April | Month::July | Month::October
        );
        if quarter_start
            && f.day() == 1
            && f.year() == t.year()
            && u8::from(t.month()) == u8::from(f.month()) + 2
            && t.day() == month_end(t)
        {
            return format!("Q{} {}", (u8::from(f.month()) - 1) / 3 + 1, f.year());
        }
        format!("{} – {}", iso(f), iso(t))
    }
}

/// The rings' names, as serialized (the rules' `rings` field).
pub const RING_NAMES: &[&str] = &[
    "public_preview",
    "targeted_release",
    "general_availability",
    "retirement",
    "other",
];

/// The clouds' names, as serialized (the rules' `clouds` field).
pub const CLOUD_NAMES: &[&str] = &["worldwide", "gcc", "gcc_high", "dod", "other"];

impl Ring {
    /// Its name as serialized: `general_availability`.
    pub fn name(self) -> &'static str {
        match self {
            Ring::PublicPreview => "public_preview",
            Ring::TargetedRelease => "targeted_release",
            Ring::GeneralAvailability => "general_availability",
            Ring::Retirement => "retirement",
            Ring::Other => "other",
        }
    }

    /// How people name it: `General availability`.
    pub fn label(self) -> &'static str {
        match self {
            Ring::PublicPreview => "Public preview",
            Ring::TargetedRelease => "Targeted release",
            Ring::GeneralAvailability => "General availability",
            Ring::Retirement => "Retirement",
            Ring::Other => "Rollout",
        }
    }
}

impl Cloud {
    /// Its name as serialized: `gcc_high`.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Worldwide => "worldwide",
            Cloud::Gcc => "gcc",
            Cloud::GccHigh => "gcc_high",
            Cloud::Dod => "dod",
            Cloud::Other => "other",
        }
    }

    /// How people name it: `GCC High`.
    pub fn label(self) -> &'static str {
        match self {
            Cloud::Worldwide => "Worldwide",
            Cloud::Gcc => "GCC",
            Cloud::GccHigh => "GCC High",
            Cloud::Dod => "DoD",
            Cloud::Other => "other cloud",
        }
    }
}

impl Phase {
    /// When it runs, for people: `mid-May 2026 → late May 2026`, `from
    /// mid-May 2026`, `by late May 2026`, or `no date given`.
    pub fn when(&self) -> String {
        match (&self.start, &self.end) {
            (Some(s), Some(e)) => format!("{} → {}", s.describe(), e.describe()),
            (Some(s), None) => format!("from {}", s.describe()),
            (None, Some(e)) => format!("by {}", e.describe()),
            (None, None) => "no date given".to_owned(),
        }
    }
}

impl Serialize for DateRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("DateRange", 2)?;
        st.serialize_field("from", &iso(self.from))?;
        st.serialize_field("to", &iso(self.to))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for DateRange {
    /// `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`, `from` not after `to`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Raw {
            from: String,
            to: String,
        }
        let raw = Raw::deserialize(d)?;
        let day = |s: &str| {
            parse_iso(s).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{}` is not a YYYY-MM-DD date",
                    clip_chars(s, 40)
                ))
            })
        };
        let (from, to) = (day(&raw.from)?, day(&raw.to)?);
        if from > to {
            return Err(serde::de::Error::custom(
                "a date range's `from` is after its `to`",
            ));
        }
        Ok(DateRange { from, to })
    }
}

/// `YYYY-MM-DD` as a date.
fn parse_iso(s: &str) -> Option<Date> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

/// Which version of the reading a stored timeline was made by: raised when
/// [`extract`] (or [`crate::preview::of_body`], stored beside it) reads
/// bodies differently, so the store reads them again.
pub const VERSION: i64 = 2;

impl Timeline {
    /// When the change first reaches someone: the earliest start of a phase
    /// (the first day of its range); `None` when no phase has a start.
    pub fn rollout_start(&self) -> Option<Date> {
        self.phases
            .iter()
            .filter_map(|p| p.start.map(|s| s.from))
            .min()
    }

    /// When the change first reaches pilots: the earliest start (the first
    /// day of its range) of a public preview or targeted release phase;
    /// `None` without one that has a start.
    pub fn pilot_start(&self) -> Option<Date> {
        self.phases
            .iter()
            .filter(|p| matches!(p.ring, Ring::PublicPreview | Ring::TargetedRelease))
            .filter_map(|p| p.start.map(|s| s.from))
            .min()
    }

    /// One line for people: each phase as `General availability (GCC): mid-May
    /// 2026 → late May 2026`, joined by `; `; empty without phases.
    pub fn describe(&self) -> String {
        self.phases
            .iter()
            .map(|p| format!("{}: {}", p.name(), p.when()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A phase whose dates differ between two versions of a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Move {
    pub ring: Ring,
    pub cloud: Cloud,
    /// The phase before (`None`: the post did not have it).
    pub was: Option<PhaseDates>,
    /// The phase now (`None`: the post no longer has it).
    pub now: Option<PhaseDates>,
}

/// A phase's dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseDates {
    pub start: Option<DateRange>,
    pub end: Option<DateRange>,
}

impl PhaseDates {
    fn of(p: &Phase) -> PhaseDates {
        PhaseDates {
            start: p.start,
            end: p.end,
        }
    }

    fn dated(&self) -> bool {
        self.start.is_some() || self.end.is_some()
    }

    fn when(&self) -> String {
        Phase {
            ring: Ring::Other,
            cloud: Cloud::Worldwide,
            start: self.start,
            end: self.end,
            text: String::new(),
        }
        .when()
    }
}

impl Move {
    /// `General availability (Worldwide): late April 2026 → mid-May 2026`
    /// (a start moved), `… : was from late April 2026, now mid-May 2026 →
    /// late May 2026`, `… : added, from mid-May 2026`, `… : removed (was from
    /// late April 2026)`.
    pub fn describe(&self) -> String {
        let name = phase_name(self.ring, self.cloud);
        match (&self.was, &self.now) {
            (Some(w), Some(n)) if w.end == n.end && w.start.is_some() && n.start.is_some() => {
                let (a, b) = (w.start.map(|d| d.describe()), n.start.map(|d| d.describe()));
                format!(
                    "{name}: start {} → {}",
                    a.unwrap_or_default(),
                    b.unwrap_or_default()
                )
            }
            (Some(w), Some(n)) if w.start == n.start && w.end.is_some() && n.end.is_some() => {
                let (a, b) = (w.end.map(|d| d.describe()), n.end.map(|d| d.describe()));
                format!(
                    "{name}: end {} → {}",
                    a.unwrap_or_default(),
                    b.unwrap_or_default()
                )
            }
            (Some(w), Some(n)) => format!("{name}: was {}, now {}", w.when(), n.when()),
            (None, Some(n)) => format!("{name}: added, {}", n.when()),
            (Some(w), None) => format!("{name}: removed (was {})", w.when()),
            (None, None) => format!("{name}: unchanged"),
        }
    }

    /// Whether the phase now starts or ends later than it did (a delay), as
    /// opposed to earlier, added or removed.
    pub fn later(&self) -> bool {
        match (&self.was, &self.now) {
            (Some(w), Some(n)) => {
                let key = |p: &PhaseDates| (p.start.map(|d| d.from), p.end.map(|d| d.from));
                key(n) > key(w)
            }
            _ => false,
        }
    }
}

/// `General availability (GCC)`; the worldwide cloud is not named.
fn phase_name(ring: Ring, cloud: Cloud) -> String {
    match cloud {
        Cloud::Worldwide => ring.label().to_owned(),
        c => format!("{} ({})", ring.label(), c.label()),
    }
}

impl Phase {
    /// Its ring, and its cloud unless worldwide: `General availability
    /// (GCC)`.
    pub fn name(&self) -> String {
        phase_name(self.ring, self.cloud)
    }
}

/// The phases whose dates differ from `old` to `new`: the phases of each
/// ring and cloud paired in the order of the body (the first GA worldwide
/// with the first, …); a dated phase without a partner was added or
/// removed. Phases with no date on either side are not moves; neither is
/// text that changed around the same dates.
pub fn moves(old: &Timeline, new: &Timeline) -> Vec<Move> {
    let mut keys: Vec<(Ring, Cloud)> = Vec::new();
    for p in old.phases.iter().chain(&new.phases) {
        if !keys.contains(&(p.ring, p.cloud)) {
            keys.push((p.ring, p.cloud));
        }
    }
    let mut out = Vec::new();
    for (ring, cloud) in keys {
        let of = |t: &Timeline| -> Vec<PhaseDates> {
            t.phases
                .iter()
                .filter(|p| p.ring == ring && p.cloud == cloud)
                .map(PhaseDates::of)
                .collect()
        };
        let (a, b) = (of(old), of(new));
        for i in 0..a.len().max(b.len()) {
            let (was, now) = (a.get(i).copied(), b.get(i).copied());
            let differs = match (&was, &now) {
                (Some(w), Some(n)) => w != n,
                (Some(d), None) | (None, Some(d)) => d.dated(),
                (None, None) => false,
            };
            if differs {
                out.push(Move {
                    ring,
                    cloud,
                    was,
                    now,
                });
            }
        }
    }
    out
}

/// A post's timeline: [`extract`] of its body, a date without a year read
/// as the next one after the post's start (else its last change, else
/// `today`).
pub fn for_post(c: &crate::graph::MessageContent, today: Date) -> Timeline {
    let reference = c
        .start
        .or(c.last_modified)
        .map_or(today, |t| t.as_datetime().date());
    extract(&c.body_html, reference)
}

/// A post's timeline without a clock: as [`for_post`], a post with none of
/// Graph's dates (never seen from Microsoft) reading a year left out as the
/// next after 2000-01-01.
pub fn of_content(c: &crate::graph::MessageContent) -> Timeline {
    let reference = c
        .start
        .or(c.last_modified)
        .or(c.act_by)
        .or(c.end)
        .map_or(NO_REFERENCE, |t| t.as_datetime().date());
    extract(&c.body_html, reference)
}

const NO_REFERENCE: Date = time::macros::date!(2000 - 01 - 01);

/// `YYYY-MM-DD`.
pub fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The first date in `text` (see the module's grammar), a year missing from
/// it inferred from the other dates of `text`, else from `reference`.
pub fn parse_when(text: &str, reference: Date) -> Option<DateRange> {
    let toks = tokenize(text);
    let found = scan_dates(&toks);
    let resolved = resolve_years(&found, reference);
    resolved.into_iter().flatten().next()
}

/// The timeline of a post whose body is `body_html`. `reference` is the
/// post's publication (or last modification) date: a date without a year is
/// taken as the next occurrence on or after it.
pub fn extract(body_html: &str, reference: Date) -> Timeline {
    let lines = plain_lines(body_html);
    let mut out = Timeline::default();
    let mut sectioned = false;
    let mut ctx = Context::default();
    let mut in_section = 0usize;
    for line in &lines {
        if let Some(rest) = when_heading(line) {
            sectioned = true;
            in_section = SECTION_LINES;
            ctx = Context::default();
            if rest.is_empty() {
                continue;
            }
            read_line(&rest, reference, true, &mut ctx, &mut out);
            in_section -= 1;
            continue;
        }
        if in_section > 0 && ends_section(line) {
            in_section = 0;
        }
        if in_section > 0 {
            in_section -= 1;
            read_line(line, reference, true, &mut ctx, &mut out);
        } else if ring_label(line).is_some() && !scan_dates(&tokenize(line)).is_empty() {
            let mut none = Context::default();
            read_line(line, reference, true, &mut none, &mut out);
        }
    }
    if !sectioned && out.phases.is_empty() {
        for line in &lines {
            if starts_with_update_note(line) {
                continue;
            }
            for sentence in sentences(line) {
                let low = lower(&sentence);
                if has_any(&low, ROLLOUT_WORDS) || ends_support(&low) {
                    let mut none = Context::default();
                    read_line(&sentence, reference, false, &mut none, &mut out);
                }
            }
        }
    }
    out
}

/// The body's text as trimmed, non-empty lines: one per paragraph, list item
/// (with a leading `* ` dropped), line break or table row, entities decoded.
pub fn plain_lines(html: &str) -> Vec<String> {
    let mut text = String::with_capacity(html.len() / 2);
    let mut chars = html.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' => {
                let mut tag = String::new();
                let mut quote: Option<char> = None;
                for t in chars.by_ref() {
                    match quote {
                        Some(q) if t == q => quote = None,
                        Some(_) => {}
                        None if t == '"' || t == '\'' => quote = Some(t),
                        None if t == '>' => break,
                        None => {
                            if tag.len() < 16 {
                                tag.push(t.to_ascii_lowercase());
                            }
                        }
                    }
                }
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                if BLOCK_TAGS.contains(&name.as_str()) {
                    text.push('\n');
                } else if name == "td" || name == "th" {
                    text.push_str(" | ");
                }
            }
            '&' => {
                let mut ent = String::new();
                while let Some(&n) = chars.peek() {
                    if n == ';'
                        || ent.chars().count() >= 10
                        || !(n.is_ascii_alphanumeric() || n == '#')
                    {
                        break;
                    }
                    ent.push(n);
                    chars.next();
                }
                let decoded = if chars.peek() == Some(&';') {
                    decode_entity(&ent)
                } else {
                    None
                };
                match decoded {
                    Some(d) => {
                        chars.next();
                        text.push(d);
                    }
                    None => {
                        text.push('&');
                        text.push_str(&ent);
                    }
                }
            }
            '\n' | '\r' | '\t' | '\u{a0}' => text.push(' '),
            '\u{feff}' | '\u{200b}' => {}
            c => text.push(c),
        }
    }
    text.split('\n')
        .map(|l| {
            let l = l.split_whitespace().collect::<Vec<_>>().join(" ");
            let l = l.trim_start_matches(['*', '•', '·', '-', '–', ' ']).trim();
            l.to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

// ---- reading lines --------------------------------------------------------

/// At most this many lines are read after a `When this will happen` heading.
const SECTION_LINES: usize = 40;

const BLOCK_TAGS: &[&str] = &[
    "p",
    "br",
    "li",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "ul",
    "ol",
    "table",
    "blockquote",
    "section",
    "hr",
];

const WHEN_HEADINGS: &[&str] = &[
    "when this will happen",
    "when will this happen",
    "when this happens",
    "when will it happen",
    "when this will take effect",
    "rollout schedule",
    "rollout timeline",
    "updated timeline",
    "here is the updated timeline",
    "here's the updated timeline",
    "timeline",
];

const SECTION_ENDS: &[&str] = &[
    "how this",
    "how does this",
    "how will this",
    "what you",
    "what do you",
    "what can you",
    "what's",
    "what is ",
    "what will",
    "additional information",
    "additional resources",
    "learn more",
    "compliance considerations",
    "more information",
    "for more information",
    "next steps",
    "why ",
    "how to prepare",
    "how it works",
];

/// What sentences outside any section must say to be read.
const ROLLOUT_WORDS: &[&str] = &[
    "roll out",
    "rolling out",
    "rollout",
    "rolls out",
    "retire",
    "retiring",
    "end of support",
    "end of servicing",
    "generally available",
    "general availability",
    "take effect",
    "takes effect",
    "will be turned off",
    "will begin",
    "will start",
];

const RETIRE_WORDS: &[&str] = &[
    "retire",
    "retiring",
    "retirement",
    "end of support",
    "end of servicing",
    "end of life",
    "end-of-life",
    "deprecat",
    "decommission",
    "disablement",
    "be disabled",
    "turned off",
    "be removed",
    "removal",
    "end of sale",
    "removed",
    "no longer",
    "not be able to",
    "expiring",
    "will expire",
    "will remove",
    "remove the ability",
];

/// Whether `low` (lower case) says something stops being supported or
/// updated: `end of support`, `end of mainstream support`, `end of
/// updates`, or a sentence that starts `End of …` ("November 1, 2026: End of
/// seeded credits").
fn ends_support(low: &str) -> bool {
    low.trim_start().starts_with("end of ")
        || low.contains(": end of ")
        || low.split("end of ").skip(1).any(|after| {
            let next: Vec<&str> = after.split_whitespace().take(2).collect();
            next.iter().any(|w| {
                let w = w.trim_matches(|c: char| !c.is_alphanumeric());
                matches!(w, "support" | "servicing" | "updates" | "life" | "sale")
            })
        })
}

/// The ring and clouds a heading gave the lines below it.
#[derive(Debug, Default, Clone)]
struct Context {
    ring: Option<Ring>,
    clouds: Vec<Cloud>,
}

/// The rest of `line` after a `When this will happen` heading (empty when
/// the heading is alone), or `None`.
fn when_heading(line: &str) -> Option<String> {
    let trimmed = line.trim_start_matches(|c: char| c == '[' || c == '*' || c.is_whitespace());
    let low = lower(trimmed);
    for h in WHEN_HEADINGS {
        if !low.starts_with(h) {
            continue;
        }
        let tail: String = trimmed.chars().skip(h.chars().count()).collect();
        let tail = tail.trim();
        let rest = tail.trim_start_matches([':', ']', '?', ' ']).trim();
        if rest.is_empty() {
            return Some(String::new());
        }
        if tail.starts_with([':', ']', '?']) {
            return Some(rest.to_string());
        }
    }
    None
}

fn ends_section(line: &str) -> bool {
    let low = lower(line.trim_start_matches(['[', ' ']));
    line.starts_with('[') || SECTION_ENDS.iter().any(|e| low.starts_with(e))
}

pub(crate) fn starts_with_update_note(line: &str) -> bool {
    let low = lower(line);
    (low.starts_with("updated ") || low.starts_with("(updated")) && {
        let head: String = line.chars().take(40).collect();
        head.contains(':') || head.contains(')')
    }
}

/// The label before the first colon of `line` when it names a ring
/// (Targeted Release, Public Preview, General Availability).
fn ring_label(line: &str) -> Option<Ring> {
    let (label, _) = split_label(line)?;
    match ring_in(&lower(&label), false) {
        Some(Ring::Retirement) | Some(Ring::Other) | None => None,
        r => r,
    }
}

/// `line` split at the colon ending a short label that holds no date.
fn split_label(line: &str) -> Option<(String, String)> {
    let mut label = String::new();
    for (n, c) in line.chars().enumerate() {
        if n > 120 {
            return None;
        }
        if c == ':' {
            let body: String = line.chars().skip(n + 1).collect();
            // `8:00 AM` is no label
            if body.chars().next().is_some_and(|c| c.is_ascii_digit())
                && label.chars().last().is_some_and(|c| c.is_ascii_digit())
            {
                return None;
            }
            if label.trim().is_empty() || !scan_dates(&tokenize(&label)).is_empty() {
                return None;
            }
            return Some((label.trim().to_string(), body.trim().to_string()));
        }
        label.push(c);
    }
    None
}

/// Reads one line (or sentence) into phases.
fn read_line(line: &str, reference: Date, in_section: bool, ctx: &mut Context, out: &mut Timeline) {
    if starts_with_update_note(line) {
        return;
    }
    // "Note: dates are subject to change" dates no phase, and ends the
    // lines under the heading above it
    if lower(line).starts_with("note") {
        *ctx = Context::default();
        return;
    }
    let (label, body) = match split_label(line) {
        Some((l, b)) => (Some(l), b),
        None => (None, line.to_string()),
    };
    let label_low = label.as_deref().map(lower);
    let label_ring = label_low.as_deref().and_then(|l| ring_in(l, true));
    let label_clouds = label_low.as_deref().map(clouds_in).unwrap_or_default();
    let sents = sentences(&body);
    let any_date = sents.iter().any(|s| !scan_dates(&tokenize(s)).is_empty());
    if !any_date && in_section {
        let body_empty = body.trim().is_empty();
        if label.is_none() || body_empty {
            // a heading: its ring and clouds go to the lines below it
            let low = lower(line);
            if line.chars().count() <= 120 {
                let clouds = clouds_in(&low);
                let ring = ring_in(&low, true);
                // a heading naming only clouds stays under the ring above it
                if ring.is_some() || clouds.is_empty() {
                    ctx.ring = ring;
                }
                ctx.clouds = clouds;
            }
            return;
        }
    }
    let mut first = true;
    for sentence in sents {
        let toks = tokenize(&sentence);
        let found = scan_dates(&toks);
        let low = lower(&sentence);
        if found.is_empty() && !first {
            continue;
        }
        let ring = label_ring
            .or_else(|| ring_in(&low, false))
            .or(ctx.ring)
            .unwrap_or(Ring::Other);
        let ring_named = label_ring.is_some() || (label.is_some() && ctx.ring.is_some());
        if found.is_empty() && (ring == Ring::Other || !ring_named) {
            first = false;
            continue;
        }
        let own_clouds = if first { Vec::new() } else { clouds_in(&low) };
        let clouds = if !own_clouds.is_empty() {
            own_clouds
        } else if !label_clouds.is_empty() {
            label_clouds.clone()
        } else if !ctx.clouds.is_empty() {
            ctx.clouds.clone()
        } else {
            let c = clouds_in(&low);
            if c.is_empty() {
                vec![Cloud::Worldwide]
            } else {
                c
            }
        };
        let whole = if first && label.is_some() {
            line.to_string()
        } else {
            sentence.clone()
        };
        let text = clip_chars(whole.trim(), MAX_TEXT_CHARS).into_owned();
        let (start, end, prev) = bounds(&toks, &found, reference);
        for &cloud in &clouds {
            out.phases.push(Phase {
                ring,
                cloud,
                start,
                end,
                text: text.clone(),
            });
            for (bound, was, ptext) in &prev {
                out.previously.push(Previously {
                    ring,
                    cloud,
                    bound: *bound,
                    was: *was,
                    text: ptext.clone(),
                });
            }
        }
        first = false;
    }
}

/// The sentences of a line: split after `.`, `!` or `?` followed by a space
/// and a capital letter.
fn sentences(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        cur.push(c);
        if matches!(c, '.' | '!' | '?')
            && chars.get(i + 1) == Some(&' ')
            && chars.get(i + 2).is_some_and(|n| n.is_uppercase())
        {
            out.push(std::mem::take(&mut cur).trim().to_string());
        }
        i += 1;
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn has_any(low: &str, words: &[&str]) -> bool {
    words.iter().any(|w| low.contains(w))
}

/// The ring `low` (lower case) names; `label` allows the shorter forms a
/// label uses ("Preview", "GA").
fn ring_in(low: &str, label: bool) -> Option<Ring> {
    if low.contains("targeted release") {
        return Some(Ring::TargetedRelease);
    }
    if low.contains("public preview") || (label && low.contains("preview")) {
        return Some(Ring::PublicPreview);
    }
    if low.contains("general availability")
        || low.contains("generally available")
        || (label && word_in(low, "ga"))
    {
        return Some(Ring::GeneralAvailability);
    }
    if has_any(low, RETIRE_WORDS) || ends_support(low) {
        return Some(Ring::Retirement);
    }
    None
}

fn word_in(low: &str, word: &str) -> bool {
    low.split(|c: char| !c.is_alphanumeric()).any(|w| w == word)
}

/// The clouds `low` (lower case) names, in a fixed order, each once.
fn clouds_in(low: &str) -> Vec<Cloud> {
    let words: Vec<&str> = low
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let mut found = Vec::new();
    let mut add = |c: Cloud| {
        if !found.contains(&c) {
            found.push(c);
        }
    };
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied();
        match *w {
            "worldwide" | "ww" | "production" => add(Cloud::Worldwide),
            "public" if next == Some("cloud") => add(Cloud::Worldwide),
            "gcc" if next == Some("high") || next == Some("h") => add(Cloud::GccHigh),
            "gcc" => add(Cloud::Gcc),
            "gcch" => add(Cloud::GccHigh),
            "dod" => add(Cloud::Dod),
            "usnat" | "ussec" | "gallatin" | "21vianet" | "sovereign" | "airgap" => {
                add(Cloud::Other)
            }
            "restricted" if next.is_some_and(|n| n.starts_with("cloud")) => add(Cloud::Other),
            _ => {}
        }
    }
    let order = [
        Cloud::Worldwide,
        Cloud::Gcc,
        Cloud::GccHigh,
        Cloud::Dod,
        Cloud::Other,
    ];
    order.into_iter().filter(|c| found.contains(c)).collect()
}

/// The start, end and previous dates of a sentence.
#[allow(clippy::type_complexity)]
fn bounds(
    toks: &[Tok],
    found: &[Found],
    reference: Date,
) -> (
    Option<DateRange>,
    Option<DateRange>,
    Vec<(Bound, Option<DateRange>, String)>,
) {
    let resolved = resolve_years(found, reference);
    let prev_spans = previously_spans(toks);
    let in_prev = |f: &Found| prev_spans.iter().any(|&(a, b)| f.first >= a && f.last <= b);
    let mut start_marked: Option<DateRange> = None;
    let mut unmarked: Option<DateRange> = None;
    let mut end: Option<DateRange> = None;
    let mut last_main: Option<(usize, Bound)> = None;
    let mut prev = Vec::new();
    let mut gap_from = 0usize;
    for (f, r) in found.iter().zip(resolved.iter()) {
        if in_prev(f) {
            continue;
        }
        let gap: Vec<&Tok> = (gap_from..f.first)
            .filter(|&i| !prev_spans.iter().any(|&(a, b)| i >= a && i <= b))
            .filter_map(|i| toks.get(i))
            .filter(|t| t.low != "(" && t.low != ")")
            .collect();
        let words: Vec<&str> = gap.iter().map(|t| t.low.as_str()).collect();
        let is_end = words.iter().any(|w| END_WORDS.contains(w))
            || (last_main.is_some() && gap.len() <= 2 && words.iter().any(|w| is_joint(w, true)));
        let is_start = words.iter().any(|w| START_WORDS.contains(w));
        let bound = if is_end && is_start && last_main.is_none() {
            // "begins and completes in mid-June 2026"
            start_marked = start_marked.or(*r);
            end = end.or(*r);
            Bound::Start
        } else if is_end {
            if end.is_none() {
                end = *r;
            }
            Bound::End
        } else if is_start {
            if start_marked.is_none() {
                start_marked = *r;
            }
            Bound::Start
        } else {
            if unmarked.is_none() {
                unmarked = *r;
            }
            Bound::Start
        };
        last_main = Some((f.last, bound));
        gap_from = f.last + 1;
    }
    // what each `(previously …)` follows
    for &(a, b) in &prev_spans {
        let bound = found
            .iter()
            .rfind(|f| !in_prev(f) && f.last < a)
            .map(|f| {
                let gap: Vec<&str> = toks
                    .get(..f.first)
                    .unwrap_or(&[])
                    .iter()
                    .rev()
                    .take_while(|t| !t.is_date_end)
                    .map(|t| t.low.as_str())
                    .collect();
                if gap.iter().any(|w| END_WORDS.contains(w))
                    || gap.len() <= 2 && gap.iter().any(|w| is_joint(w, false))
                {
                    Bound::End
                } else {
                    Bound::Start
                }
            })
            .unwrap_or(Bound::Start);
        let was = found
            .iter()
            .zip(resolved.iter())
            .find(|(f, _)| f.first >= a && f.last <= b)
            .and_then(|(_, r)| *r);
        let text = toks
            .get(a..=b)
            .unwrap_or(&[])
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>();
        prev.push((bound, was, join_tokens(&text)));
    }
    (start_marked.or(unmarked), end, prev)
}

const END_WORDS: &[&str] = &[
    "complete",
    "completes",
    "completed",
    "completing",
    "completion",
    "complet",
    "finish",
    "finishes",
    "finished",
    "through",
    "until",
    "till",
    "thru",
];

const START_WORDS: &[&str] = &[
    "begin",
    "begins",
    "began",
    "beginning",
    "start",
    "starts",
    "started",
    "starting",
    "from",
    "effective",
];

/// Token spans `(previously …)` (without the parentheses), and a bare
/// `previously <date>`.
fn previously_spans(toks: &[Tok]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        if t.low == "previously" || t.low == "originally" {
            let opened = i > 0 && toks.get(i - 1).is_some_and(|p| p.low == "(");
            let mut j = i;
            while let Some(n) = toks.get(j + 1) {
                if n.low == ")" || (!opened && (n.low == "," || n.low == "." || n.low == ";")) {
                    break;
                }
                if j - i > 12 {
                    break;
                }
                j += 1;
            }
            spans.push((i, j));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    spans
}

fn join_tokens(parts: &[&str]) -> String {
    let mut s = String::new();
    for p in parts {
        let glue = matches!(*p, "-" | "," | ":" | "." | ";") || s.ends_with('-') || s.is_empty();
        if !glue {
            s.push(' ');
        }
        s.push_str(p);
    }
    s
}

// ---- tokens and dates -----------------------------------------------------

/// A word (letters and digits), or one other non-space character.
#[derive(Debug, Clone)]
struct Tok {
    text: String,
    low: String,
    /// Whether this token ends a date expression (set while scanning).
    is_date_end: bool,
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut cur = String::new();
    let push = |cur: &mut String, toks: &mut Vec<Tok>| {
        if !cur.is_empty() {
            toks.push(Tok {
                low: cur.to_lowercase(),
                text: std::mem::take(cur),
                is_date_end: false,
            });
        }
    };
    for c in s.chars() {
        if c.is_alphanumeric() {
            cur.push(c);
        } else {
            push(&mut cur, &mut toks);
            if !c.is_whitespace() {
                toks.push(Tok {
                    text: c.to_string(),
                    low: c.to_lowercase().collect(),
                    is_date_end: false,
                });
            }
        }
    }
    push(&mut cur, &mut toks);
    toks
}

/// What part of a month a date names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Whole,
    Early,
    Mid,
    Late,
    Days(u8, u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Month(Month, Part),
    /// First month and count of months (quarters, halves).
    Months(Month, u8),
}

/// A date expression found in the tokens `first..=last`.
#[derive(Debug, Clone, Copy)]
struct Found {
    first: usize,
    last: usize,
    year: Option<i32>,
    span: Span,
}

fn scan_dates(toks: &[Tok]) -> Vec<Found> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match date_at(toks, i) {
            Some(f) => {
                i = f.last + 1;
                out.push(f);
            }
            None => i += 1,
        }
    }
    out
}

fn month_of(low: &str) -> Option<Month> {
    Some(match low {
        "january" | "jan" => Month::January,
        "february" | "feb" => Month::February,
        "march" | "mar" => Month::March,
        "april" | "apr" => Month::April,
        "may" => Month::May,
        "june" | "jun" => Month::June,
        "july" | "jul" => Month::July,
        "august" | "aug" => Month::August,
        "september" | "sep" | "sept" => Month::September,
        "october" | "oct" => Month::October,
        "november" | "nov" => Month::November,
        "december" | "dec" => Month::December,
        _ => return None,
    })
}

/// A year: `2026` or `CY2026`.
fn year_of(t: &Tok) -> Option<i32> {
    let digits = t.low.strip_prefix("cy").unwrap_or(&t.low);
    if digits.chars().count() != 4 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let y: i32 = digits.parse().ok()?;
    (2000..=2100).contains(&y).then_some(y)
}

/// A day of the month: `15`, `15th`, `1st`.
fn day_of(t: &Tok) -> Option<u8> {
    let digits: String = t.low.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest: String = t.low.chars().skip_while(|c| c.is_ascii_digit()).collect();
    if digits.is_empty() || digits.chars().count() > 2 {
        return None;
    }
    if !matches!(rest.as_str(), "" | "st" | "nd" | "rd" | "th") {
        return None;
    }
    let d: u8 = digits.parse().ok()?;
    (1..=31).contains(&d).then_some(d)
}

fn is_dash(t: &Tok) -> bool {
    matches!(t.low.as_str(), "-" | "‐" | "‑" | "–" | "—")
}

/// A word joining two dates into a range: `to`, a dash (and `and`).
fn is_joint(w: &str, and: bool) -> bool {
    matches!(w, "to" | "-" | "‐" | "‑" | "–" | "—") || (and && w == "and")
}

/// The year after `toks[j]` (skipping one comma or `of`), and the index of
/// its token.
fn year_after(toks: &[Tok], j: usize) -> Option<(i32, usize)> {
    let t = toks.get(j)?;
    if let Some(y) = year_of(t) {
        return Some((y, j));
    }
    if t.low == "," || t.low == "of" {
        let n = toks.get(j + 1)?;
        return year_of(n).map(|y| (y, j + 1));
    }
    None
}

fn date_at(toks: &[Tok], i: usize) -> Option<Found> {
    let t = toks.get(i)?;
    let low = t.low.as_str();
    // ISO 2026-05-15
    if let Some(y) = year_of(t).filter(|_| !low.starts_with("cy")) {
        let m = toks.get(i + 2).and_then(day_of);
        let d = toks.get(i + 4).and_then(day_of);
        if let (Some(m), Some(d)) = (m, d)
            && toks.get(i + 1).is_some_and(|t| t.low == "-")
            && toks.get(i + 3).is_some_and(|t| t.low == "-")
            && let Ok(month) = Month::try_from(m)
        {
            return Some(Found {
                first: i,
                last: i + 4,
                year: Some(y),
                span: Span::Month(month, Part::Days(d, d)),
            });
        }
    }
    // CY2026 Q2
    if let Some(y) = year_of(t)
        && let Some(q) = toks.get(i + 1).and_then(quarter_of)
    {
        return Some(months(i, i + 1, Some(y), q));
    }
    // Q2 2026, Q2 CY2026, Q2 of 2026; H2 2026
    if let Some(q) = quarter_of(t).or_else(|| half_of(t)) {
        let (year, last) = match year_after(toks, i + 1) {
            Some((y, j)) => (Some(y), j),
            None => (None, i),
        };
        if year.is_none() && half_of(t).is_some() {
            return None;
        }
        return Some(months(i, last, year, q));
    }
    // second quarter of 2026, first half of 2026
    if let Some(n) = ordinal(low)
        && let Some(unit) = toks.get(i + 1)
        && matches!(unit.low.as_str(), "quarter" | "half")
        && toks.get(i + 2).is_some_and(|t| t.low == "of")
    {
        let mut j = i + 3;
        if toks.get(j).is_some_and(|t| t.low == "calendar")
            && toks.get(j + 1).is_some_and(|t| t.low == "year")
        {
            j += 2;
        }
        let y = toks.get(j).and_then(year_of)?;
        let spec = if unit.low == "quarter" {
            (n <= 4).then(|| (Month::try_from(3 * n - 2).ok(), 3))?
        } else {
            (n <= 2).then(|| (Month::try_from(6 * n - 5).ok(), 6))?
        };
        return Some(months(i, j, Some(y), (spec.0?, spec.1)));
    }
    // early / mid / late / end of / beginning of + month
    if let Some((part, after)) = qualifier(toks, i)
        && let Some(m) = toks.get(after).and_then(|t| month_of(&t.low))
    {
        let (year, last) = match year_after(toks, after + 1) {
            Some((y, j)) => (Some(y), j),
            None => (None, after),
        };
        return Some(Found {
            first: i,
            last,
            year,
            span: Span::Month(m, part),
        });
    }
    // 15 May 2026
    if let Some(d) = day_of(t) {
        let mut j = i + 1;
        if toks.get(j).is_some_and(|t| t.low == "of") {
            j += 1;
        }
        let mt = toks.get(j)?;
        let m = month_of(&mt.low).filter(|_| capitalized(mt))?;
        let (year, last) = match year_after(toks, j + 1) {
            Some((y, k)) => (Some(y), k),
            None => (None, j),
        };
        return Some(Found {
            first: i,
            last,
            year,
            span: Span::Month(m, Part::Days(d, d)),
        });
    }
    // May 15, 2026; May 2–6, 2026; May 2026; May
    let m = month_of(low).filter(|_| capitalized(t))?;
    if let Some(d) = toks.get(i + 1).and_then(day_of) {
        let mut last = i + 1;
        let mut d2 = d;
        if toks.get(i + 2).is_some_and(|t| is_dash(t) || t.low == "to")
            && let Some(e) = toks.get(i + 3).and_then(day_of)
            && e >= d
        {
            d2 = e;
            last = i + 3;
        }
        let (year, last) = match year_after(toks, last + 1) {
            Some((y, k)) => (Some(y), k),
            None => (None, last),
        };
        return Some(Found {
            first: i,
            last,
            year,
            span: Span::Month(m, Part::Days(d, d2)),
        });
    }
    if let Some((y, j)) = year_after(toks, i + 1) {
        return Some(Found {
            first: i,
            last: j,
            year: Some(y),
            span: Span::Month(m, Part::Whole),
        });
    }
    // a month alone: only after a word that makes it a date ("May" is also a verb)
    let before = i
        .checked_sub(1)
        .and_then(|p| toks.get(p))
        .map(|t| t.low.as_str());
    let dated = matches!(
        before,
        Some(
            "in" | "by"
                | "previously"
                | "from"
                | "to"
                | "until"
                | "through"
                | "since"
                | "of"
                | "before"
                | "after"
                | "during"
                | "starting"
                | "beginning"
                | "early"
                | "mid"
                | "late"
                | "complete"
                | "completes"
                | "begins"
                | "-"
                | "–"
                | "—"
                | "("
        )
    );
    if !dated || (m == Month::May && before == Some("(")) {
        return None;
    }
    Some(Found {
        first: i,
        last: i,
        year: None,
        span: Span::Month(m, Part::Whole),
    })
}

fn capitalized(t: &Tok) -> bool {
    t.text.chars().next().is_some_and(|c| c.is_uppercase())
}

fn months(first: usize, last: usize, year: Option<i32>, spec: (Month, u8)) -> Found {
    Found {
        first,
        last,
        year,
        span: Span::Months(spec.0, spec.1),
    }
}

fn quarter_of(t: &Tok) -> Option<(Month, u8)> {
    let n: u8 = t.low.strip_prefix('q')?.parse().ok()?;
    if !(1..=4).contains(&n) {
        return None;
    }
    Some((Month::try_from(3 * n - 2).ok()?, 3))
}

fn half_of(t: &Tok) -> Option<(Month, u8)> {
    match t.low.as_str() {
        "h1" => Some((Month::January, 6)),
        "h2" => Some((Month::July, 6)),
        _ => None,
    }
}

fn ordinal(low: &str) -> Option<u8> {
    Some(match low {
        "first" | "1st" => 1,
        "second" | "2nd" => 2,
        "third" | "3rd" => 3,
        "fourth" | "4th" => 4,
        _ => return None,
    })
}

/// `early`, `mid`, `late`, `end of`, `beginning of`… at `i`: the part of the
/// month and the index of the token after it (past a hyphen or `of`).
fn qualifier(toks: &[Tok], i: usize) -> Option<(Part, usize)> {
    let t = toks.get(i)?;
    let (part, mut j) = match t.low.as_str() {
        "early" => (Part::Early, i + 1),
        "mid" | "middle" => (Part::Mid, i + 1),
        "late" => (Part::Late, i + 1),
        "end" => (Part::Late, i + 1),
        "beginning" | "start" => (Part::Early, i + 1),
        _ => return None,
    };
    let needs_of = matches!(t.low.as_str(), "end" | "beginning" | "start" | "middle");
    if toks.get(j).is_some_and(is_dash) {
        j += 1;
    }
    if toks.get(j).is_some_and(|t| t.low == "of") {
        j += 1;
    } else if needs_of {
        return None;
    }
    // "mid to late September": from the first part's start to the second's end
    if toks.get(j).is_some_and(|t| is_joint(&t.low, false))
        && let Some((second, k)) = qualifier(toks, j + 1)
    {
        let (a, _) = part_days(part, 31);
        let (_, b) = part_days(second, 31);
        return Some((Part::Days(a, b), k));
    }
    Some((part, j))
}

/// The first and last day of `part` in a month of `end` days.
fn part_days(part: Part, end: u8) -> (u8, u8) {
    match part {
        Part::Whole => (1, end),
        Part::Early => (1, 10),
        Part::Mid => (11, 20),
        Part::Late => (21, end),
        Part::Days(a, b) => (a, b),
    }
}

fn last_day(year: i32, month: Month) -> u8 {
    time::util::days_in_month(month, year)
}

/// The days `span` names in `year`.
fn range_of(span: Span, year: i32) -> Option<DateRange> {
    match span {
        Span::Month(m, part) => {
            let end = last_day(year, m);
            let (a, b) = part_days(part, end);
            // "mid to late": Days(11, 31) ends with the month
            let b = b.min(end);
            let from = Date::from_calendar_date(year, m, a).ok()?;
            let to = Date::from_calendar_date(year, m, b).ok()?;
            (from <= to).then_some(DateRange { from, to })
        }
        Span::Months(m, n) => {
            let first = Date::from_calendar_date(year, m, 1).ok()?;
            let mut lm = m;
            for _ in 1..n {
                lm = lm.next();
            }
            let to = Date::from_calendar_date(year, lm, last_day(year, lm)).ok()?;
            (first <= to).then_some(DateRange { from: first, to })
        }
    }
}

fn first_month(span: Span) -> Month {
    match span {
        Span::Month(m, _) | Span::Months(m, _) => m,
    }
}

fn month_index(year: i32, m: Month) -> i64 {
    i64::from(year) * 12 + i64::from(u8::from(m))
}

/// The year that puts `m` nearest the month `anchor` (the anchor's year on a tie).
fn nearest_year(m: Month, anchor: (i32, Month)) -> i32 {
    let (ay, am) = anchor;
    let target = month_index(ay, am);
    [ay, ay - 1, ay + 1]
        .into_iter()
        .min_by_key(|&y| (month_index(y, m) - target).abs())
        .unwrap_or(ay)
}

/// Each found date's days, a missing year inferred: nearest the previous
/// date of the sentence, else the next one with a year, else the next
/// occurrence on or after `reference`'s month.
fn resolve_years(found: &[Found], reference: Date) -> Vec<Option<DateRange>> {
    let mut out: Vec<Option<DateRange>> = Vec::with_capacity(found.len());
    let mut anchor: Option<(i32, Month)> = None;
    for (k, f) in found.iter().enumerate() {
        let m = first_month(f.span);
        let year = match f.year {
            Some(y) => y,
            None => {
                let next = found
                    .iter()
                    .skip(k + 1)
                    .find_map(|n| n.year.map(|y| (y, first_month(n.span))));
                match anchor.or(next) {
                    Some(a) => nearest_year(m, a),
                    None if u8::from(m) >= u8::from(reference.month()) => reference.year(),
                    None => reference.year() + 1,
                }
            }
        };
        let r = range_of(f.span, year);
        if r.is_some() {
            anchor = Some((year, m));
        }
        out.push(r);
    }
    out
}

fn decode_entity(ent: &str) -> Option<char> {
    Some(match ent {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "rsquo" | "lsquo" => '\'',
        "rdquo" | "ldquo" => '"',
        _ => {
            let num = ent.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            let c = char::from_u32(code)?;
            if c == '\u{a0}' { ' ' } else { c }
        }
    })
}

#[cfg(test)]
mod tests {

    #[test]
    fn ranges_are_described_as_written() {
        let d = |y: i32, m: u8, day: u8| {
            Date::from_calendar_date(y, Month::try_from(m).unwrap(), day).unwrap()
        };
        let r = |a: Date, b: Date| DateRange { from: a, to: b }.describe();
        assert_eq!(r(d(2026, 5, 15), d(2026, 5, 15)), "2026-05-15");
        assert_eq!(r(d(2026, 5, 1), d(2026, 5, 10)), "early May 2026");
        assert_eq!(r(d(2026, 5, 11), d(2026, 5, 20)), "mid-May 2026");
        assert_eq!(r(d(2026, 5, 21), d(2026, 5, 31)), "late May 2026");
        assert_eq!(r(d(2028, 2, 21), d(2028, 2, 29)), "late February 2028");
        assert_eq!(r(d(2026, 5, 1), d(2026, 5, 31)), "May 2026");
        assert_eq!(r(d(2026, 4, 1), d(2026, 6, 30)), "Q2 2026");
        assert_eq!(r(d(2026, 5, 11), d(2026, 6, 20)), "2026-05-11 – 2026-06-20");
        assert_eq!(r(d(2026, 5, 3), d(2026, 5, 12)), "2026-05-03 – 2026-05-12");
    }

    use super::*;
    use time::macros::date;

    const REF: Date = date!(2026 - 03 - 15);

    fn when(s: &str) -> Option<(String, String)> {
        parse_when(s, REF).map(|r| (iso(r.from), iso(r.to)))
    }

    fn range(a: &str, b: &str) -> Option<(String, String)> {
        Some((a.to_string(), b.to_string()))
    }

    #[test]
    fn parts_of_a_month() {
        assert_eq!(when("early June 2026"), range("2026-06-01", "2026-06-10"));
        assert_eq!(when("mid-May 2026"), range("2026-05-11", "2026-05-20"));
        assert_eq!(when("late April 2026"), range("2026-04-21", "2026-04-30"));
        assert_eq!(when("late-August 2026"), range("2026-08-21", "2026-08-31"));
        assert_eq!(when("end of May 2026"), range("2026-05-21", "2026-05-31"));
        assert_eq!(
            when("by the end of September 2026"),
            range("2026-09-21", "2026-09-30")
        );
        assert_eq!(when("May 2026"), range("2026-05-01", "2026-05-31"));
        assert_eq!(
            when("in September, 2026"),
            range("2026-09-01", "2026-09-30")
        );
    }

    #[test]
    fn february_ends_with_the_year() {
        assert_eq!(
            when("late February 2028"),
            range("2028-02-21", "2028-02-29")
        );
        assert_eq!(
            when("late February 2027"),
            range("2027-02-21", "2027-02-28")
        );
        assert_eq!(when("February 2024"), range("2024-02-01", "2024-02-29"));
    }

    #[test]
    fn single_days() {
        assert_eq!(when("May 15, 2026"), range("2026-05-15", "2026-05-15"));
        assert_eq!(
            when("on November 1st, 2025."),
            range("2025-11-01", "2025-11-01")
        );
        assert_eq!(when("15 May 2026"), range("2026-05-15", "2026-05-15"));
        assert_eq!(when("2026-05-15"), range("2026-05-15", "2026-05-15"));
        assert_eq!(
            when("November 17-21, 2025"),
            range("2025-11-17", "2025-11-21")
        );
        assert_eq!(when("February 30, 2026"), None);
    }

    #[test]
    fn quarters_and_halves() {
        assert_eq!(when("Q2 2026"), range("2026-04-01", "2026-06-30"));
        assert_eq!(when("CY2026 Q4"), range("2026-10-01", "2026-12-31"));
        assert_eq!(when("Q3 CY2026"), range("2026-07-01", "2026-09-30"));
        assert_eq!(
            when("second quarter of 2026"),
            range("2026-04-01", "2026-06-30")
        );
        assert_eq!(
            when("the first half of 2027"),
            range("2027-01-01", "2027-06-30")
        );
        assert_eq!(
            when("second half of calendar year 2026"),
            range("2026-07-01", "2026-12-31")
        );
    }

    #[test]
    fn years_are_inferred() {
        // on or after the reference month (March 2026)
        assert_eq!(when("in late April"), range("2026-04-21", "2026-04-30"));
        assert_eq!(when("by mid-January"), range("2027-01-11", "2027-01-20"));
        assert_eq!(when("in March"), range("2026-03-01", "2026-03-31"));
        // from the next date of a range
        assert_eq!(
            when("from mid-May to late June 2027"),
            range("2027-05-11", "2027-05-20")
        );
        assert_eq!(
            when("from late November to mid-January 2027"),
            range("2026-11-21", "2026-11-30")
        );
        // "may" the verb is no month
        assert_eq!(when("you may see changes"), None);
        assert_eq!(when("Admins may configure it"), None);
    }

    fn phases(body: &str) -> Vec<(Ring, Cloud, Option<String>, Option<String>)> {
        extract(body, REF)
            .phases
            .into_iter()
            .map(|p| {
                let f = |r: Option<DateRange>| r.map(|r| format!("{}..{}", iso(r.from), iso(r.to)));
                (p.ring, p.cloud, f(p.start), f(p.end))
            })
            .collect()
    }

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    #[test]
    fn a_section_per_ring_and_cloud() {
        let body = "<p>Intro text, roll out in May 2020.</p><p>[When this will happen:]</p>\
            <p>Targeted Release: We will begin rolling out mid-October 2026 (previously mid-September) \
            and expect to complete by late October 2026 (previously late September).</p>\
            <p>General Availability (GCC, GCC High): We will begin rolling out late October 2026 \
            and expect to complete by late November 2026.</p>\
            <p>[How this will affect your organization:]</p><p>It will roll out in June 2026.</p>";
        assert_eq!(
            phases(body),
            vec![
                (
                    Ring::TargetedRelease,
                    Cloud::Worldwide,
                    s("2026-10-11..2026-10-20"),
                    s("2026-10-21..2026-10-31")
                ),
                (
                    Ring::GeneralAvailability,
                    Cloud::Gcc,
                    s("2026-10-21..2026-10-31"),
                    s("2026-11-21..2026-11-30")
                ),
                (
                    Ring::GeneralAvailability,
                    Cloud::GccHigh,
                    s("2026-10-21..2026-10-31"),
                    s("2026-11-21..2026-11-30")
                ),
            ]
        );
        let t = extract(body, REF);
        let prev: Vec<_> = t
            .previously
            .iter()
            .map(|p| (p.bound, p.was.map(|r| iso(r.from)), p.text.clone()))
            .collect();
        assert_eq!(
            prev,
            vec![
                (
                    Bound::Start,
                    s("2026-09-11"),
                    "previously mid-September".to_string()
                ),
                (
                    Bound::End,
                    s("2026-09-21"),
                    "previously late September".to_string()
                ),
            ]
        );
    }

    #[test]
    fn previously_crosses_the_year() {
        let t = extract(
            "<p>[When this will happen:]</p><li>General Availability: Rollout begins mid-January 2026 \
             (previously end of December) and completes by March 2026 (previously: mid-February 2026).</li>",
            REF,
        );
        let was: Vec<_> = t
            .previously
            .iter()
            .map(|p| p.was.map(|r| iso(r.from)))
            .collect();
        assert_eq!(was, vec![s("2025-12-21"), s("2026-02-11")]);
        assert_eq!(t.previously.get(1).map(|p| p.bound), Some(Bound::End));
    }

    #[test]
    fn headings_rings_without_dates_and_dashes() {
        let body = "<p>[When this will happen]</p><p>General Availability</p>\
            <ul><li>Worldwide and GCC: We will begin rolling out in late June 2026 and expect to complete in July 2026.</li>\
            <li>GCC High and DoD: Timelines will follow.</li></ul>\
            <p>Public preview: Mid-May 2026 (previously Early April) – End of May 2026</p>";
        assert_eq!(
            phases(body),
            vec![
                (
                    Ring::GeneralAvailability,
                    Cloud::Worldwide,
                    s("2026-06-21..2026-06-30"),
                    s("2026-07-01..2026-07-31")
                ),
                (
                    Ring::GeneralAvailability,
                    Cloud::Gcc,
                    s("2026-06-21..2026-06-30"),
                    s("2026-07-01..2026-07-31")
                ),
                (Ring::GeneralAvailability, Cloud::GccHigh, None, None),
                (Ring::GeneralAvailability, Cloud::Dod, None, None),
                (
                    Ring::PublicPreview,
                    Cloud::Worldwide,
                    s("2026-05-11..2026-05-20"),
                    s("2026-05-21..2026-05-31")
                ),
            ]
        );
    }

    #[test]
    fn retirements_outside_a_section() {
        let body = "<p>Project Online will be retired by the end of September 2026 for all customers.</p>\
            <p>Updated June 15, 2026: We will retire something.</p>";
        assert_eq!(
            phases(body),
            vec![(
                Ring::Retirement,
                Cloud::Worldwide,
                s("2026-09-21..2026-09-30"),
                None
            )]
        );
    }

    #[test]
    fn text_is_clipped_by_characters() {
        let long = "é".repeat(400);
        let t = extract(&format!("<p>Targeted Release: {long} May 2026</p>"), REF);
        let p = t.phases.first().map(|p| p.text.chars().count());
        assert_eq!(p, Some(MAX_TEXT_CHARS + 1));
    }

    #[test]
    fn entities_and_tags() {
        assert_eq!(
            plain_lines("<p>a&nbsp;b &amp; c&#39;s &x</p><li>item</li><br/>z &#x41;"),
            vec!["a b & c's &x", "item", "z A"]
        );
    }

    #[test]
    fn moves_pair_phases_by_ring_and_cloud_in_order() {
        let old = extract(
            "<p>[When this will happen:]</p>\
             <p>Targeted Release: We will begin rolling out early April 2026 and expect to complete by mid-April 2026.</p>\
             <p>General Availability (Worldwide, GCC): We will begin rolling out late April 2026 and expect to complete by mid-May 2026.</p>",
            REF,
        );
        let new = extract(
            "<p>[When this will happen:]</p>\
             <p>Targeted Release: We will begin rolling out early April 2026 and expect to complete by mid-April 2026.</p>\
             <p>General Availability (Worldwide): We will begin rolling out mid-May 2026 (previously late April) and expect to complete by mid-May 2026.</p>\
             <p>General Availability (GCC): We will begin rolling out late April 2026 and expect to complete by mid-May 2026.</p>\
             <p>General Availability (DoD): We will begin rolling out June 2026.</p>",
            REF,
        );
        let m = moves(&old, &new);
        let said: Vec<String> = m.iter().map(Move::describe).collect();
        assert_eq!(
            said,
            vec![
                "General availability: start late April 2026 → mid-May 2026".to_owned(),
                "General availability (DoD): added, from June 2026".to_owned(),
            ]
        );
        assert!(m[0].later());
        assert!(!m[1].later());
        // the same dates in other words: no move; and back again
        assert!(moves(&old, &old).is_empty());
        let back: Vec<String> = moves(&new, &old).iter().map(Move::describe).collect();
        assert_eq!(
            back,
            vec![
                "General availability: start mid-May 2026 → late April 2026".to_owned(),
                "General availability (DoD): removed (was from June 2026)".to_owned(),
            ]
        );
    }

    #[test]
    fn an_undated_phase_is_no_move_but_dating_it_is() {
        let undated = extract(
            "<p>[When this will happen:]</p><p>Targeted Release: we will share the timeline later.</p>",
            REF,
        );
        let dated = extract(
            "<p>[When this will happen:]</p>\
             <p>Targeted Release: We will begin rolling out in May 2026 and expect to complete by late June 2026.</p>",
            REF,
        );
        assert!(moves(&Timeline::default(), &undated).is_empty());
        let m: Vec<String> = moves(&undated, &dated).iter().map(Move::describe).collect();
        assert_eq!(
            m,
            vec!["Targeted release: was no date given, now May 2026 → late June 2026".to_owned()]
        );
    }

    #[test]
    fn a_timeline_round_trips_through_json_and_rejects_bad_ranges() {
        let t = extract(
            "<p>General Availability (GCC High): We will begin rolling out mid-May 2026 (previously early May) and expect to complete by late June 2026.</p>",
            REF,
        );
        let json = serde_json::to_string(&t).unwrap();
        let back: Timeline = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        assert_eq!(t.rollout_start(), Some(date!(2026 - 05 - 11)));
        assert_eq!(
            t.describe(),
            "General availability (GCC High): mid-May 2026 → late June 2026"
        );
        for bad in [
            r#"{"from":"2026-05-20","to":"2026-05-11"}"#,
            r#"{"from":"2026-02-30","to":"2026-03-01"}"#,
            r#"{"from":"26-05-01","to":"2026-05-01"}"#,
            r#"{"from":"2026-05-01"}"#,
        ] {
            assert!(serde_json::from_str::<DateRange>(bad).is_err(), "{bad}");
        }
    }
}
