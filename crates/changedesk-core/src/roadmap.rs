//! The public Microsoft 365 roadmap: its items as the feed gives them, and
//! what changed between two reads of one item.
//!
//! The feed (`https://www.microsoft.com/releasecommunications/api/v1/m365`)
//! is unofficial and undocumented: a bare JSON array of every item, without
//! paging or `ETag`. A saved copy may wrap the array in an object
//! (`{"metadata": …, "items": […]}`, as the public dumps do); both are read.
//! Keys are matched case-insensitively, unknown keys are ignored, a status
//! nobody knows is kept as written ([`RoadmapStatus::Unknown`]), and an item
//! that cannot be read (no numeric id, no title) is skipped with its reason
//! instead of failing the whole feed: one bad item never hides the others.
//!
//! The release months (`"March CY2026"`) are kept as written and read as a
//! [`RoadmapMonth`] where they have that shape. Times without an offset
//! (`"2026-02-21T00:30:02"`) are read as UTC.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::timestamp::Timestamp;

/// At most this many items are read from one feed: the real one has about
/// two thousand, and a feed of millions is not a roadmap.
pub const MAX_ROADMAP_ITEMS: usize = 100_000;

/// At most this many characters of an item's text field are kept (the
/// longest real description has 1,688); the rest is cut at a character
/// boundary, never inside one.
pub const MAX_ROADMAP_TEXT: usize = 20_000;

/// A roadmap item's status.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RoadmapStatus {
    InDevelopment,
    RollingOut,
    Launched,
    Cancelled,
    Postponed,
    /// A status this version does not know, as the feed wrote it.
    Unknown(String),
}

impl RoadmapStatus {
    /// Reads a status in any case, with or without spaces, dashes or
    /// underscores (`"In development"`, `"inDevelopment"`, `"ROLLING_OUT"`).
    pub fn parse(s: &str) -> Self {
        let key: String = s
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        match key.as_str() {
            "indevelopment" => Self::InDevelopment,
            "rollingout" => Self::RollingOut,
            "launched" => Self::Launched,
            "cancelled" | "canceled" => Self::Cancelled,
            "postponed" => Self::Postponed,
            _ => Self::Unknown(s.trim().to_string()),
        }
    }

    /// The status as the roadmap shows it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InDevelopment => "In development",
            Self::RollingOut => "Rolling out",
            Self::Launched => "Launched",
            Self::Cancelled => "Cancelled",
            Self::Postponed => "Postponed",
            Self::Unknown(s) => s,
        }
    }

    /// Whether the feature is still to come: in development, rolling out or
    /// postponed (not launched nor cancelled, and not unknown).
    pub fn is_coming(&self) -> bool {
        matches!(
            self,
            Self::InDevelopment | Self::RollingOut | Self::Postponed
        )
    }
}

impl fmt::Display for RoadmapStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RoadmapStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RoadmapStatus {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(d)?))
    }
}

/// A calendar month of the roadmap (`"March CY2026"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RoadmapMonth {
    pub year: i32,
    /// 1 to 12.
    pub month: u8,
}

impl RoadmapMonth {
    /// Reads `"March CY2026"` (the feed's shape), and also `"Mar CY2026"`,
    /// `"March 2026"` and `"2026-03"`; anything else is `None` (the text is
    /// kept by the caller).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        if let Some((y, m)) = s.split_once('-')
            && y.len() == 4
            && let (Ok(year), Ok(month)) = (y.parse::<i32>(), m.parse::<u8>())
        {
            return Self::new(year, month);
        }
        let mut words = s.split_whitespace();
        let (name, year) = (words.next()?, words.next()?);
        if words.next().is_some() {
            return None;
        }
        let year = year
            .strip_prefix("CY")
            .or_else(|| year.strip_prefix("cy"))
            .unwrap_or(year);
        let year: i32 = year.parse().ok()?;
        let lower = name.to_lowercase();
        let month = MONTHS
            .iter()
            .position(|m| lower.chars().count() >= 3 && m.starts_with(&lower))?;
        Self::new(year, u8::try_from(month + 1).ok()?)
    }

    fn new(year: i32, month: u8) -> Option<Self> {
        ((1..=12).contains(&month) && (1900..=9999).contains(&year)).then_some(Self { year, month })
    }

    /// The first instant of the month (UTC).
    pub fn start(&self) -> Option<Timestamp> {
        let month = time::Month::try_from(self.month).ok()?;
        let day = time::Date::from_calendar_date(self.year, month, 1).ok()?;
        Some(Timestamp::from_datetime(day.midnight().assume_utc()))
    }

    /// `2026-03`, which sorts as the months do.
    pub fn key(&self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Display for RoadmapMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = MONTHS
            .get(usize::from(self.month.clamp(1, 12)) - 1)
            .copied()
            .unwrap_or("?");
        let mut chars = name.chars();
        let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or(' ');
        write!(f, "{first}{} {}", chars.as_str(), self.year)
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// One roadmap item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoadmapItem {
    /// The roadmap (feature) id, as posts name it in `RoadmapIds`.
    pub id: u64,
    pub title: String,
    /// Plain text.
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_info: Option<String>,
    pub status: RoadmapStatus,
    /// The month of general availability as written
    /// (`publicDisclosureAvailabilityDate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The month of the public preview as written (`publicPreviewDate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<Timestamp>,
    #[serde(default)]
    pub products: Vec<String>,
    #[serde(default)]
    pub platforms: Vec<String>,
    #[serde(default)]
    pub cloud_instances: Vec<String>,
    #[serde(default)]
    pub release_phases: Vec<String>,
}

impl RoadmapItem {
    /// The month of general availability, where it reads as one.
    pub fn release_month(&self) -> Option<RoadmapMonth> {
        self.release.as_deref().and_then(RoadmapMonth::parse)
    }

    /// The month of the public preview, where it reads as one.
    pub fn preview_month(&self) -> Option<RoadmapMonth> {
        self.preview.as_deref().and_then(RoadmapMonth::parse)
    }

    /// The item's page on the public roadmap.
    pub fn link(&self) -> String {
        format!(
            "https://www.microsoft.com/microsoft-365/roadmap?featureid={}",
            self.id
        )
    }
}

/// An item of a feed that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedItem {
    /// Its place in the feed (from 0).
    pub index: usize,
    /// Its id, where one could be read.
    pub id: Option<String>,
    pub reason: String,
}

/// What a feed held: the items read and those skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoadmapFeed {
    pub items: Vec<RoadmapItem>,
    pub skipped: Vec<SkippedItem>,
}

/// Why a feed could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoadmapError {
    #[error("the roadmap is not JSON: {0}")]
    NotJson(String),
    #[error("the roadmap is not a list of items (a JSON array, or an object with `items`)")]
    NotAList,
    #[error("the roadmap has {0} items, more than the {MAX_ROADMAP_ITEMS} read")]
    TooMany(usize),
}

/// Reads the roadmap's v1 JSON: a bare array of items, or an object whose
/// `items` (or `value`) is that array. Items that cannot be read are
/// skipped with their reason; when an id appears twice, the later item
/// (the feed's order) wins and the earlier is reported as skipped.
pub fn parse_roadmap_json(text: &str) -> Result<RoadmapFeed, RoadmapError> {
    let doc: Value = serde_json::from_str(text.trim_start_matches('\u{feff}'))
        .map_err(|e| RoadmapError::NotJson(e.to_string()))?;
    let list = match &doc {
        Value::Array(a) => a,
        Value::Object(o) => match field(o, "items").or_else(|| field(o, "value")) {
            Some(Value::Array(a)) => a,
            _ => return Err(RoadmapError::NotAList),
        },
        _ => return Err(RoadmapError::NotAList),
    };
    if list.len() > MAX_ROADMAP_ITEMS {
        return Err(RoadmapError::TooMany(list.len()));
    }
    let mut feed = RoadmapFeed::default();
    let mut at: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    for (index, v) in list.iter().enumerate() {
        match read_item(v) {
            Ok(item) => match at.get(&item.id) {
                Some(&i) => {
                    feed.skipped.push(SkippedItem {
                        index,
                        id: Some(item.id.to_string()),
                        reason: "the same id again: the later item is kept".into(),
                    });
                    if let Some(slot) = feed.items.get_mut(i) {
                        *slot = item;
                    }
                }
                None => {
                    at.insert(item.id, feed.items.len());
                    feed.items.push(item);
                }
            },
            Err((id, reason)) => feed.skipped.push(SkippedItem { index, id, reason }),
        }
    }
    Ok(feed)
}

/// A key of `o` in any case.
fn field<'a>(o: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.get(name).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// Text of `v`: a string (trimmed, cut at [`MAX_ROADMAP_TEXT`]), a number as
/// written; empty and null are `None`.
fn text(v: Option<&Value>) -> Option<String> {
    let s = match v? {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    if s.is_empty() {
        return None;
    }
    Some(if s.chars().count() > MAX_ROADMAP_TEXT {
        s.chars().take(MAX_ROADMAP_TEXT).collect()
    } else {
        s
    })
}

/// The tag names of a list of `{tagName}` objects (or of plain strings),
/// each once, in order.
fn tags(v: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(Value::Array(a)) = v {
        for t in a {
            let name = match t {
                Value::Object(o) => text(field(o, "tagName")),
                other => text(Some(other)),
            };
            if let Some(n) = name
                && !out.contains(&n)
            {
                out.push(n);
            }
        }
    }
    out
}

fn read_item(v: &Value) -> Result<RoadmapItem, (Option<String>, String)> {
    let Value::Object(o) = v else {
        return Err((None, "not an object".into()));
    };
    let raw_id = text(field(o, "id"));
    let id = match raw_id.as_deref().map(str::parse::<u64>) {
        Some(Ok(id)) => id,
        Some(Err(_)) => return Err((raw_id, "its id is not a number".into())),
        None => return Err((None, "it has no id".into())),
    };
    let title =
        text(field(o, "title")).ok_or_else(|| (raw_id.clone(), "it has no title".to_string()))?;
    let time = |name: &str| text(field(o, name)).and_then(|t| Timestamp::parse(&t).ok());
    let container = match field(o, "tagsContainer") {
        Some(Value::Object(c)) => Some(c),
        _ => None,
    };
    let group = |name: &str| tags(container.and_then(|c| field(c, name)));
    Ok(RoadmapItem {
        id,
        title,
        description: text(field(o, "description")).unwrap_or_default(),
        more_info: text(field(o, "moreInfoLink")),
        status: text(field(o, "status"))
            .map(|s| RoadmapStatus::parse(&s))
            .unwrap_or(RoadmapStatus::Unknown(String::new())),
        release: text(field(o, "publicDisclosureAvailabilityDate")),
        preview: text(field(o, "publicPreviewDate")),
        created: time("created"),
        modified: time("modified"),
        products: group("products"),
        platforms: group("platforms"),
        cloud_instances: group("cloudInstances"),
        release_phases: group("releasePhase"),
    })
}

/// What changed in a roadmap item between two reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "field", rename_all = "snake_case")]
pub enum RoadmapChange {
    Status {
        from: String,
        to: String,
    },
    /// The month of general availability moved (or was set or cleared).
    Release {
        from: Option<String>,
        to: Option<String>,
    },
    Preview {
        from: Option<String>,
        to: Option<String>,
    },
    Title {
        from: String,
        to: String,
    },
    Description,
    MoreInfo,
    Products {
        added: Vec<String>,
        removed: Vec<String>,
    },
    Platforms {
        added: Vec<String>,
        removed: Vec<String>,
    },
    CloudInstances {
        added: Vec<String>,
        removed: Vec<String>,
    },
    ReleasePhases {
        added: Vec<String>,
        removed: Vec<String>,
    },
}

impl RoadmapChange {
    /// Whether the change moves when the feature arrives: its status or a
    /// month.
    pub fn moves_timeline(&self) -> bool {
        matches!(
            self,
            Self::Status { .. } | Self::Release { .. } | Self::Preview { .. }
        )
    }
}

impl fmt::Display for RoadmapChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "none".into());
        let list =
            |f: &mut fmt::Formatter<'_>, what: &str, added: &[String], removed: &[String]| {
                write!(f, "{what}")?;
                if !added.is_empty() {
                    write!(f, " +{}", added.join(", +"))?;
                }
                if !removed.is_empty() {
                    write!(f, " -{}", removed.join(", -"))?;
                }
                Ok(())
            };
        match self {
            Self::Status { from, to } => write!(f, "status: {from} → {to}"),
            Self::Release { from, to } => write!(f, "release: {} → {}", opt(from), opt(to)),
            Self::Preview { from, to } => write!(f, "preview: {} → {}", opt(from), opt(to)),
            Self::Title { .. } => write!(f, "title changed"),
            Self::Description => write!(f, "description changed"),
            Self::MoreInfo => write!(f, "more-info link changed"),
            Self::Products { added, removed } => list(f, "products:", added, removed),
            Self::Platforms { added, removed } => list(f, "platforms:", added, removed),
            Self::CloudInstances { added, removed } => list(f, "cloud instances:", added, removed),
            Self::ReleasePhases { added, removed } => list(f, "release phases:", added, removed),
        }
    }
}

/// What changed from `old` to `new` (the same item read twice), in a fixed
/// order: status, months, title, description, link, then the tag lists.
/// Times (`created`, `modified`) are not changes of their own.
pub fn roadmap_changes(old: &RoadmapItem, new: &RoadmapItem) -> Vec<RoadmapChange> {
    let mut out = Vec::new();
    if old.status != new.status {
        out.push(RoadmapChange::Status {
            from: old.status.to_string(),
            to: new.status.to_string(),
        });
    }
    if old.release != new.release {
        out.push(RoadmapChange::Release {
            from: old.release.clone(),
            to: new.release.clone(),
        });
    }
    if old.preview != new.preview {
        out.push(RoadmapChange::Preview {
            from: old.preview.clone(),
            to: new.preview.clone(),
        });
    }
    if old.title != new.title {
        out.push(RoadmapChange::Title {
            from: old.title.clone(),
            to: new.title.clone(),
        });
    }
    if old.description != new.description {
        out.push(RoadmapChange::Description);
    }
    if old.more_info != new.more_info {
        out.push(RoadmapChange::MoreInfo);
    }
    let diff = |a: &[String], b: &[String]| -> Option<(Vec<String>, Vec<String>)> {
        let added: Vec<String> = b.iter().filter(|x| !a.contains(x)).cloned().collect();
        let removed: Vec<String> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
        (!added.is_empty() || !removed.is_empty()).then_some((added, removed))
    };
    if let Some((added, removed)) = diff(&old.products, &new.products) {
        out.push(RoadmapChange::Products { added, removed });
    }
    if let Some((added, removed)) = diff(&old.platforms, &new.platforms) {
        out.push(RoadmapChange::Platforms { added, removed });
    }
    if let Some((added, removed)) = diff(&old.cloud_instances, &new.cloud_instances) {
        out.push(RoadmapChange::CloudInstances { added, removed });
    }
    if let Some((added, removed)) = diff(&old.release_phases, &new.release_phases) {
        out.push(RoadmapChange::ReleasePhases { added, removed });
    }
    out
}

/// Writes items in the feed's own v1 shape (a bare array, times without an
/// offset): what the simulator serves and what [`parse_roadmap_json`]
/// reads back.
pub fn to_roadmap_json(items: &[RoadmapItem]) -> String {
    let tag_list = |v: &[String]| -> Value {
        Value::Array(
            v.iter()
                .map(|t| serde_json::json!({ "tagName": t }))
                .collect(),
        )
    };
    let no_zone =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let time = |t: &Option<Timestamp>| -> Value {
        t.and_then(|t| t.as_datetime().format(&no_zone).ok())
            .map(Value::String)
            .unwrap_or(Value::Null)
    };
    let list: Vec<Value> = items
        .iter()
        .map(|i| {
            let all: Vec<String> = i
                .cloud_instances
                .iter()
                .chain(&i.platforms)
                .chain(&i.products)
                .chain(&i.release_phases)
                .cloned()
                .collect();
            serde_json::json!({
                "id": i.id,
                "title": i.title,
                "description": i.description,
                "moreInfoLink": i.more_info,
                "publicDisclosureAvailabilityDate": i.release.clone().unwrap_or_default(),
                "publicPreviewDate": i.preview.clone().unwrap_or_default(),
                "created": time(&i.created),
                "publicRoadmapStatus": "Include this month",
                "status": i.status.as_str(),
                "modified": time(&i.modified),
                "locale": null,
                "tags": tag_list(&all),
                "tagsContainer": {
                    "products": tag_list(&i.products),
                    "cloudInstances": tag_list(&i.cloud_instances),
                    "releasePhase": tag_list(&i.release_phases),
                    "platforms": tag_list(&i.platforms),
                },
            })
        })
        .collect();
    Value::Array(list).to_string()
}

#[cfg(test)]
mod tests;
