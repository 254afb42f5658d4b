//! The shapes Microsoft Graph's service communications API sends, parsed
//! tolerantly into changedesk's domain types.
//!
//! Tolerance rules (graph-api.md §1.2–1.4): property names are matched
//! case-insensitively (Graph sends camelCase, the PowerShell SDK PascalCase);
//! enum values are matched case-insensitively with an `Unknown` fallback that
//! keeps the original text; optional properties may be missing or `null`;
//! unknown properties are ignored. Only a missing or empty `id` makes an item
//! unusable. A post is split into what every tenant sees the same
//! ([`MessageContent`]) and what is the tenant's own ([`TenantView`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::timestamp::Timestamp;

/// Why one item of a listing could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {message}")]
pub struct ParseError {
    /// The item, e.g. `item 12` or `MC1005517`.
    pub what: String,
    pub message: String,
}

macro_rules! graph_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($variant,)+
            /// A value this version does not know, kept as sent.
            Unknown(String),
        }

        impl $name {
            /// Case-insensitive; anything else becomes `Unknown`.
            pub fn parse(s: &str) -> Self {
                let t = s.trim();
                $(if t.eq_ignore_ascii_case($text) { return $name::$variant; })+
                $name::Unknown(t.to_string())
            }

            /// Graph's camelCase spelling (or the unknown text as sent).
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown(s) => s.as_str(),
                }
            }

            /// Every known value, in Graph's spelling.
            pub const KNOWN: &'static [&'static str] = &[$($text),+];
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok($name::parse(&s))
            }
        }
    };
}

graph_enum!(
    /// `serviceUpdateCategory`.
    Category {
        PreventOrFixIssue => "preventOrFixIssue",
        PlanForChange => "planForChange",
        StayInformed => "stayInformed",
    }
);

graph_enum!(
    /// `serviceUpdateSeverity`.
    Severity {
        Normal => "normal",
        High => "high",
        Critical => "critical",
    }
);

graph_enum!(
    /// `serviceHealthClassificationType`.
    Classification {
        Advisory => "advisory",
        Incident => "incident",
    }
);

graph_enum!(
    /// `serviceHealthOrigin`.
    Origin {
        Microsoft => "microsoft",
        ThirdParty => "thirdParty",
        Customer => "customer",
    }
);

graph_enum!(
    /// `serviceHealthStatus`.
    HealthStatus {
        ServiceOperational => "serviceOperational",
        Investigating => "investigating",
        RestoringService => "restoringService",
        VerifyingService => "verifyingService",
        ServiceRestored => "serviceRestored",
        PostIncidentReviewPublished => "postIncidentReviewPublished",
        ServiceDegradation => "serviceDegradation",
        ServiceInterruption => "serviceInterruption",
        ExtendedRecovery => "extendedRecovery",
        FalsePositive => "falsePositive",
        InvestigationSuspended => "investigationSuspended",
        Resolved => "resolved",
        MitigatedExternal => "mitigatedExternal",
        Mitigated => "mitigated",
        ResolvedExternal => "resolvedExternal",
        Confirmed => "confirmed",
        Reported => "reported",
    }
);

graph_enum!(
    /// A tenant's rollout status of one roadmap feature on one platform
    /// (`FeatureStatusJson`). Graph writes `FeatureRolloutStatusNotSupported`;
    /// the prefix is optional here.
    RolloutStatus {
        NotSupported => "notSupported",
        Scheduled => "scheduled",
        InRollout => "inRollout",
        Launched => "launched",
    }
);

impl RolloutStatus {
    fn parse_feature_status(s: &str) -> Self {
        let t = s.trim();
        let stripped = crate::text::strip_prefix_ignore_ascii_case(t, "FeatureRolloutStatus")
            .filter(|rest| !rest.is_empty())
            .unwrap_or(t);
        match RolloutStatus::parse(stripped) {
            RolloutStatus::Unknown(_) => RolloutStatus::Unknown(t.to_string()),
            known => known,
        }
    }
}

impl Default for Category {
    fn default() -> Self {
        Category::Unknown(String::new())
    }
}

// the enum is generated by graph_enum!, which has no #[default] slot
#[allow(clippy::derivable_impls)]
impl Default for Severity {
    fn default() -> Self {
        Severity::Normal
    }
}

/// One `{name, value}` pair of a post's or incident's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detail {
    pub name: String,
    pub value: String,
}

/// What every tenant sees the same of a Message Center post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageContent {
    pub id: String,
    pub title: String,
    pub category: Category,
    pub severity: Severity,
    pub services: Vec<String>,
    pub tags: Vec<String>,
    pub is_major: bool,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub act_by: Option<Timestamp>,
    pub last_modified: Option<Timestamp>,
    pub body_html: String,
    pub has_attachments: bool,
}

/// What one tenant sees of a post that others may see differently.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantView {
    pub details: Vec<Detail>,
}

/// A post as one tenant returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub content: MessageContent,
    pub view: TenantView,
}

/// One line of `FeatureStatusJson`: a roadmap feature's status on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolloutEntry {
    pub roadmap_id: String,
    pub platform: String,
    pub status: RolloutStatus,
    pub last_update: Option<Timestamp>,
    pub ring: Option<String>,
}

/// What an incident is for every tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentContent {
    pub id: String,
    pub title: String,
    pub service: String,
    pub feature: String,
    pub feature_group: String,
    pub classification: Classification,
    pub origin: Origin,
    pub status: HealthStatus,
    pub is_resolved: bool,
    pub impact_description: String,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub last_modified: Option<Timestamp>,
    pub high_impact: Option<bool>,
}

/// One update posted to an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentPost {
    pub created: Option<Timestamp>,
    pub post_type: String,
    pub description_html: String,
}

/// A Service Health issue as one tenant returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub content: IncidentContent,
    pub posts: Vec<IncidentPost>,
    pub view: TenantView,
}

/// One service's status in a tenant's health overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthOverview {
    pub service_id: String,
    pub service: String,
    pub status: HealthStatus,
}

/// Which kind of Graph object a listing holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingKind {
    Messages,
    Issues,
    HealthOverviews,
}

impl ListingKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ListingKind::Messages => "messages",
            ListingKind::Issues => "issues",
            ListingKind::HealthOverviews => "healthOverviews",
        }
    }
}

/// Case-insensitive view of a JSON object's properties.
struct Props<'a> {
    map: BTreeMap<String, &'a Value>,
}

impl<'a> Props<'a> {
    fn new(obj: &'a Map<String, Value>) -> Self {
        let map = obj
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        Props { map }
    }

    /// The property, `None` when missing or null.
    fn get(&self, name: &str) -> Option<&'a Value> {
        let found = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.map.get(&name.to_ascii_lowercase())
        } else {
            self.map.get(name)
        };
        match found {
            Some(Value::Null) | None => None,
            Some(v) => Some(v),
        }
    }

    fn string(&self, name: &str) -> Result<Option<String>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => Err(format!("`{name}` should be a string, not {}", kind(other))),
        }
    }

    fn bool(&self, name: &str) -> Result<Option<bool>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(format!(
                "`{name}` should be true or false, not {}",
                kind(other)
            )),
        }
    }

    fn timestamp(&self, name: &str) -> Result<Option<Timestamp>, String> {
        match self.string(name)? {
            None => Ok(None),
            Some(s) if s.trim().is_empty() => Ok(None),
            Some(s) => Timestamp::parse(&s)
                .map(Some)
                .map_err(|e| format!("`{name}`: {e}")),
        }
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, String> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => {
                            let t = s.trim();
                            if !t.is_empty() && !out.iter().any(|o: &String| o == t) {
                                out.push(t.to_string());
                            }
                        }
                        Value::Null => {}
                        other => {
                            return Err(format!(
                                "`{name}` should hold strings, not {}",
                                kind(other)
                            ));
                        }
                    }
                }
                Ok(out)
            }
            Some(Value::String(s)) => Ok(s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()),
            Some(other) => Err(format!("`{name}` should be a list, not {}", kind(other))),
        }
    }

    fn body(&self, name: &str) -> Result<String, String> {
        match self.get(name) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Object(o)) => Ok(Props::new(o).string("content")?.unwrap_or_default()),
            Some(other) => Err(format!(
                "`{name}` should be an itemBody, not {}",
                kind(other)
            )),
        }
    }

    fn details(&self) -> Result<Vec<Detail>, String> {
        match self.get("details") {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let Value::Object(o) = item else {
                        return Err(format!("`details` should hold objects, not {}", kind(item)));
                    };
                    let p = Props::new(o);
                    let name = p.string("name")?.unwrap_or_default();
                    let value = p.string("value")?.unwrap_or_default();
                    if !name.is_empty() {
                        out.push(Detail { name, value });
                    }
                }
                Ok(out)
            }
            Some(other) => Err(format!("`details` should be a list, not {}", kind(other))),
        }
    }

    fn id(&self) -> Result<String, String> {
        match self.string("id")? {
            Some(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
            _ => Err("has no `id`".to_string()),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn object(v: &Value, index: usize) -> Result<&Map<String, Value>, ParseError> {
    v.as_object().ok_or_else(|| ParseError {
        what: format!("item {index}"),
        message: format!("should be an object, not {}", kind(v)),
    })
}

fn wrap<T>(index: usize, id: Option<&str>, r: Result<T, String>) -> Result<T, ParseError> {
    r.map_err(|message| ParseError {
        what: match id {
            Some(id) => format!("item {index} ({id})"),
            None => format!("item {index}"),
        },
        message,
    })
}

impl Message {
    /// Parses one `serviceUpdateMessage`. `index` names the item in errors.
    pub fn from_graph(v: &Value, index: usize) -> Result<Message, ParseError> {
        let o = object(v, index)?;
        let p = Props::new(o);
        let id = wrap(index, None, p.id())?;
        let r = (|| {
            Ok(Message {
                content: MessageContent {
                    title: p.string("title")?.unwrap_or_default(),
                    category: p
                        .string("category")?
                        .map(|s| Category::parse(&s))
                        .unwrap_or_default(),
                    severity: p
                        .string("severity")?
                        .map(|s| Severity::parse(&s))
                        .unwrap_or_default(),
                    services: p.strings("services")?,
                    tags: p.strings("tags")?,
                    is_major: p.bool("isMajorChange")?.unwrap_or(false),
                    start: p.timestamp("startDateTime")?,
                    end: p.timestamp("endDateTime")?,
                    act_by: p.timestamp("actionRequiredByDateTime")?,
                    last_modified: p.timestamp("lastModifiedDateTime")?,
                    body_html: p.body("body")?,
                    has_attachments: p.bool("hasAttachments")?.unwrap_or(false),
                    id: id.clone(),
                },
                view: TenantView {
                    details: p.details()?,
                },
            })
        })();
        wrap(index, Some(&id), r)
    }

    /// Back to Graph's wire shape (camelCase), as an export or the simulator
    /// would send it.
    pub fn to_graph(&self) -> Value {
        let c = &self.content;
        serde_json::json!({
            "startDateTime": c.start.map(|t| t.to_canonical()),
            "endDateTime": c.end.map(|t| t.to_canonical()),
            "lastModifiedDateTime": c.last_modified.map(|t| t.to_canonical()),
            "title": c.title,
            "id": c.id,
            "category": c.category.as_str(),
            "severity": c.severity.as_str(),
            "tags": c.tags,
            "isMajorChange": c.is_major,
            "actionRequiredByDateTime": c.act_by.map(|t| t.to_canonical()),
            "services": c.services,
            "hasAttachments": c.has_attachments,
            "viewPoint": Value::Null,
            "details": self.view.details,
            "body": {"contentType": "html", "content": c.body_html},
        })
    }
}

impl MessageContent {
    /// A digest of everything shared except `lastModifiedDateTime`: two
    /// versions with the same digest say the same thing.
    pub fn digest(&self) -> String {
        // every field but last_modified; naming them all makes a new field a
        // compile error here rather than silently left out
        let MessageContent {
            id,
            title,
            category,
            severity,
            services,
            tags,
            is_major,
            start,
            end,
            act_by,
            last_modified: _,
            body_html,
            has_attachments,
        } = self;
        digest_json(&(
            id,
            title,
            category,
            severity,
            services,
            tags,
            is_major,
            start,
            end,
            act_by,
            body_html,
            has_attachments,
        ))
    }

    /// The title without Microsoft's `(Updated) ` prefix.
    pub fn display_title(&self) -> &str {
        strip_updated(&self.title)
    }
}

/// Removes Microsoft's `(Updated) ` title prefix.
pub fn strip_updated(title: &str) -> &str {
    // a real title, `TPM 2.0 – a necessity…`, has an en dash across the
    // prefix's length: never cut by bytes
    let t = title.trim_start();
    crate::text::strip_prefix_ignore_ascii_case(t, "(updated)").map_or(t, str::trim_start)
}

impl TenantView {
    pub fn detail(&self, name: &str) -> Option<&str> {
        self.details
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .map(|d| d.value.as_str())
    }

    /// Microsoft's plain-text summary (`Summary`).
    pub fn summary(&self) -> Option<&str> {
        self.detail("Summary").filter(|s| !s.trim().is_empty())
    }

    /// Roadmap feature ids (`RoadmapIds`, comma separated).
    pub fn roadmap_ids(&self) -> Vec<String> {
        split_list(self.detail("RoadmapIds").unwrap_or_default())
    }

    /// Platforms (`Platforms`, comma separated).
    pub fn platforms(&self) -> Vec<String> {
        split_list(self.detail("Platforms").unwrap_or_default())
    }

    /// Links Microsoft attached (`ExternalLink`, `BlogLink`, `HelpLink`, …).
    pub fn links(&self) -> Vec<(String, String)> {
        self.details
            .iter()
            .filter(|d| d.name.to_ascii_lowercase().ends_with("link") && !d.value.trim().is_empty())
            .map(|d| (d.name.clone(), d.value.trim().to_string()))
            .collect()
    }

    /// The tenant's rollout status per roadmap id and platform, decoded from
    /// `FeatureStatusJson`. Malformed JSON gives an error naming the problem;
    /// entries that are not objects are skipped.
    pub fn rollout(&self) -> Result<Vec<RolloutEntry>, String> {
        match self.detail("FeatureStatusJson") {
            None => Ok(Vec::new()),
            Some(s) if s.trim().is_empty() => Ok(Vec::new()),
            Some(s) => decode_feature_status(s),
        }
    }

    /// A digest of the tenant's details, to tell whether they changed.
    pub fn digest(&self) -> String {
        digest_json(&self.details)
    }
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Decodes a `FeatureStatusJson` string.
pub fn decode_feature_status(s: &str) -> Result<Vec<RolloutEntry>, String> {
    let v: Value =
        serde_json::from_str(s).map_err(|e| format!("FeatureStatusJson is not JSON: {e}"))?;
    let Value::Object(by_id) = v else {
        return Err(format!(
            "FeatureStatusJson should be an object, not {}",
            kind(&v)
        ));
    };
    let mut out = Vec::new();
    for (key, entries) in &by_id {
        let list: Vec<&Value> = match entries {
            Value::Array(a) => a.iter().collect(),
            Value::Object(_) => vec![entries],
            _ => continue,
        };
        for e in list {
            let Value::Object(o) = e else { continue };
            let p = Props::new(o);
            let roadmap_id = p
                .string("RoadmapId")
                .ok()
                .flatten()
                .unwrap_or_else(|| key.clone());
            let platform = p.string("Platform").ok().flatten().unwrap_or_default();
            let status = p
                .string("Status")
                .ok()
                .flatten()
                .map(|s| RolloutStatus::parse_feature_status(&s))
                .unwrap_or_else(|| RolloutStatus::Unknown(String::new()));
            out.push(RolloutEntry {
                roadmap_id,
                platform: normalise_platform(&platform),
                status,
                last_update: p.timestamp("LastUpdateTime").ok().flatten(),
                ring: p.string("LatestRing").ok().flatten(),
            });
        }
    }
    Ok(out)
}

/// `IOS` and `iOS` are the same platform.
fn normalise_platform(p: &str) -> String {
    let t = p.trim();
    if t.eq_ignore_ascii_case("ios") {
        "iOS".to_string()
    } else {
        t.to_string()
    }
}

impl Incident {
    /// Parses one `serviceHealthIssue`.
    pub fn from_graph(v: &Value, index: usize) -> Result<Incident, ParseError> {
        let o = object(v, index)?;
        let p = Props::new(o);
        let id = wrap(index, None, p.id())?;
        let r = (|| {
            let mut posts = Vec::new();
            match p.get("posts") {
                None => {}
                Some(Value::Array(items)) => {
                    for item in items {
                        let Value::Object(po) = item else {
                            return Err(format!("`posts` should hold objects, not {}", kind(item)));
                        };
                        let pp = Props::new(po);
                        posts.push(IncidentPost {
                            created: pp.timestamp("createdDateTime")?,
                            post_type: pp.string("postType")?.unwrap_or_default(),
                            description_html: pp.body("description")?,
                        });
                    }
                }
                Some(other) => {
                    return Err(format!("`posts` should be a list, not {}", kind(other)));
                }
            }
            let status = p
                .string("status")?
                .map(|s| HealthStatus::parse(&s))
                .unwrap_or_else(|| HealthStatus::Unknown(String::new()));
            Ok(Incident {
                content: IncidentContent {
                    title: p.string("title")?.unwrap_or_default(),
                    service: p.string("service")?.unwrap_or_default().trim().to_string(),
                    feature: p.string("feature")?.unwrap_or_default(),
                    feature_group: p.string("featureGroup")?.unwrap_or_default(),
                    classification: p
                        .string("classification")?
                        .map(|s| Classification::parse(&s))
                        .unwrap_or_else(|| Classification::Unknown(String::new())),
                    origin: p
                        .string("origin")?
                        .map(|s| Origin::parse(&s))
                        .unwrap_or_else(|| Origin::Unknown(String::new())),
                    is_resolved: p.bool("isResolved")?.unwrap_or(false),
                    status,
                    impact_description: p.string("impactDescription")?.unwrap_or_default(),
                    start: p.timestamp("startDateTime")?,
                    end: p.timestamp("endDateTime")?,
                    last_modified: p.timestamp("lastModifiedDateTime")?,
                    high_impact: p.bool("highImpact")?,
                    id: id.clone(),
                },
                posts,
                view: TenantView {
                    details: p.details()?,
                },
            })
        })();
        wrap(index, Some(&id), r)
    }
}

impl Incident {
    /// A digest of the incident's shared content and its posts: a new post is
    /// news even when the rest is unchanged.
    pub fn version_digest(&self) -> String {
        let posts: Vec<String> = self.posts.iter().map(IncidentPost::digest).collect();
        digest_json(&(self.content.digest(), posts))
    }
}

impl IncidentContent {
    /// A digest of everything shared except `lastModifiedDateTime`.
    pub fn digest(&self) -> String {
        let IncidentContent {
            id,
            title,
            service,
            feature,
            feature_group,
            classification,
            origin,
            status,
            is_resolved,
            impact_description,
            start,
            end,
            last_modified: _,
            high_impact,
        } = self;
        digest_json(&(
            (
                id,
                title,
                service,
                feature,
                feature_group,
                classification,
                origin,
            ),
            (
                status,
                is_resolved,
                impact_description,
                start,
                end,
                high_impact,
            ),
        ))
    }
}

impl IncidentPost {
    /// Identifies a post within its incident.
    pub fn digest(&self) -> String {
        digest_json(self)
    }
}

impl HealthOverview {
    /// Parses one `serviceHealth`.
    pub fn from_graph(v: &Value, index: usize) -> Result<HealthOverview, ParseError> {
        let o = object(v, index)?;
        let p = Props::new(o);
        let id = wrap(index, None, p.id())?;
        let r = (|| {
            Ok(HealthOverview {
                service: p
                    .string("service")?
                    .unwrap_or_else(|| id.clone())
                    .trim()
                    .to_string(),
                status: p
                    .string("status")?
                    .map(|s| HealthStatus::parse(&s))
                    .unwrap_or_else(|| HealthStatus::Unknown(String::new())),
                service_id: id.clone(),
            })
        })();
        wrap(index, Some(&id), r)
    }
}

/// A short, stable digest (first 16 bytes of SHA-256, hex) of a value's JSON
/// form, streamed into the hasher without building the JSON text.
///
/// Digests are stored with every revision and link and compared across
/// versions of changedesk: changing what goes into one needs a migration.
fn digest_json<T: Serialize + ?Sized>(v: &T) -> String {
    struct Hashing(Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Hashing(Sha256::new());
    // writing into a hasher cannot fail, and these types always serialise
    let _ = serde_json::to_writer(&mut h, v);
    let d = h.0.finalize();
    let mut out = String::with_capacity(32);
    for b in d.iter().take(16) {
        out.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// A listing read from Graph or from a file: its items, and the items that
/// could not be used (with why).
#[derive(Debug, Clone)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub rejected: Vec<ParseError>,
}

/// A file or page holding a listing, as JSON: UTF-8 (with or without a byte
/// order mark) or UTF-16 as Windows PowerShell writes it
/// ([`crate::text::decode_file_text`]). Find its items with [`listing_items`].
pub fn listing_document(bytes: &[u8]) -> Result<Value, String> {
    let text = crate::text::decode_file_text(bytes).map_err(|e| format!("is not readable: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("is not valid JSON: {e}"))
}

/// Finds the array of objects in a Graph response or export: the raw `value`
/// array, or an object with `value`.
pub fn listing_items(doc: &Value) -> Result<&Vec<Value>, String> {
    match doc {
        Value::Array(items) => Ok(items),
        Value::Object(o) => {
            let p = Props::new(o);
            match p.get("value") {
                Some(Value::Array(items)) => Ok(items),
                Some(other) => Err(format!("`value` should be a list, not {}", kind(other))),
                None => Err("expected a JSON array, or an object with a `value` array".to_string()),
            }
        }
        other => Err(format!(
            "expected a JSON array, or an object with a `value` array, not {}",
            kind(other)
        )),
    }
}

/// Guesses which kind of Graph object a listing holds from its first object.
pub fn detect_kind(items: &[Value]) -> Option<ListingKind> {
    let first = items.iter().find_map(Value::as_object)?;
    let p = Props::new(first);
    if p.map.contains_key("classification")
        || p.map.contains_key("posts")
        || p.map.contains_key("isresolved")
    {
        Some(ListingKind::Issues)
    } else if p.map.contains_key("category")
        || p.map.contains_key("body")
        || p.map.contains_key("ismajorchange")
    {
        Some(ListingKind::Messages)
    } else if p.map.contains_key("status") && p.map.contains_key("service") {
        Some(ListingKind::HealthOverviews)
    } else {
        let id = p.string("id").ok().flatten().unwrap_or_default();
        if id.starts_with("MC") {
            Some(ListingKind::Messages)
        } else {
            None
        }
    }
}

/// Parses every item, keeping the ones that parse and the reasons for the rest.
pub fn parse_listing<T>(
    items: &[Value],
    parse: impl Fn(&Value, usize) -> Result<T, ParseError>,
) -> Listing<T> {
    collect_listing(
        items
            .iter()
            .enumerate()
            .map(|(i, v)| parse_one(v, i, &parse)),
    )
}

/// One item, with a panic (a bug) turned into this item's rejection: one
/// post the code cannot handle never stops the rest of a listing.
fn parse_one<T>(
    v: &Value,
    i: usize,
    parse: &impl Fn(&Value, usize) -> Result<T, ParseError>,
) -> Result<T, ParseError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(v, i))).unwrap_or_else(|payload| {
        let id = v
            .as_object()
            .and_then(|o| Props::new(o).string("id").ok().flatten())
            .map(|id| crate::text::clip_chars(&id, 40).into_owned());
        let why = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(ParseError {
            what: match id {
                Some(id) => format!("item {i} ({id})"),
                None => format!("item {i}"),
            },
            message: format!("changedesk could not handle this item (a bug: {why}); the rest of the listing is used"),
        })
    })
}

/// [`parse_listing`] over items kept as JSON text (as the Graph client
/// returns them): each item is parsed to a tree only while it is turned
/// into a `T`, so one item's tree exists at a time instead of a whole
/// listing's.
pub fn parse_raw_listing<T>(
    items: &[Box<serde_json::value::RawValue>],
    parse: impl Fn(&Value, usize) -> Result<T, ParseError>,
) -> Listing<T> {
    collect_listing(items.iter().enumerate().map(|(i, raw)| {
        serde_json::from_str::<Value>(raw.get())
            .map_err(|e| ParseError {
                what: format!("item {i}"),
                message: format!("not JSON: {e}"),
            })
            .and_then(|v| parse_one(&v, i, &parse))
    }))
}

fn collect_listing<T>(parsed: impl ExactSizeIterator<Item = Result<T, ParseError>>) -> Listing<T> {
    let mut out = Listing {
        items: Vec::with_capacity(parsed.len()),
        rejected: Vec::new(),
    };
    for p in parsed {
        match p {
            Ok(t) => out.items.push(t),
            Err(e) => out.rejected.push(e),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({
            "startDateTime": "2025-02-14T01:17:13Z",
            "endDateTime": "2027-05-24T07:00:00Z",
            "lastModifiedDateTime": "2025-02-14T01:18:26.963Z",
            "title": "(Updated) Microsoft Teams: Custom meeting branding",
            "id": "MC1005517",
            "category": "stayInformed",
            "severity": "normal",
            "tags": ["Feature update", "User impact"],
            "isMajorChange": false,
            "actionRequiredByDateTime": null,
            "services": ["Microsoft Teams", "Microsoft Clipchamp "],
            "hasAttachments": false,
            "viewPoint": null,
            "someFutureField": {"x": 1},
            "details": [
                {"name": "RoadmapIds", "value": "468868,468869"},
                {"name": "Summary", "value": "Teams will support themes."},
                {"name": "Platforms", "value": "Android, Desktop, iOS, Mac, Web"},
                {"name": "FeatureStatusJson", "value": "{\"468868\":[{\"RoadmapId\":468868,\"Platform\":\"IOS\",\"Status\":\"FeatureRolloutStatusNotSupported\",\"LastUpdateTime\":\"2025-07-10T23:26:38.5775946Z\",\"LatestRing\":null}]}"},
                {"name": "ExternalLink", "value": "https://example.com/x"}
            ],
            "body": {"contentType": "html", "content": "<p>[When this will happen:]</p><p>March</p>"}
        })
    }

    #[test]
    fn parses_a_real_shaped_message() {
        let m = Message::from_graph(&sample(), 0).unwrap();
        assert_eq!(m.content.id, "MC1005517");
        assert_eq!(m.content.category, Category::StayInformed);
        assert_eq!(m.content.severity, Severity::Normal);
        assert_eq!(
            m.content.services,
            vec!["Microsoft Teams", "Microsoft Clipchamp"]
        );
        assert_eq!(
            m.content.display_title(),
            "Microsoft Teams: Custom meeting branding"
        );
        assert_eq!(m.view.summary(), Some("Teams will support themes."));
        assert_eq!(m.view.roadmap_ids(), vec!["468868", "468869"]);
        assert_eq!(m.view.platforms().len(), 5);
        assert_eq!(m.view.links().len(), 1);
        let r = m.view.rollout().unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].roadmap_id, "468868");
        assert_eq!(r[0].platform, "iOS");
        assert_eq!(r[0].status, RolloutStatus::NotSupported);
    }

    #[test]
    fn enums_are_case_insensitive_with_unknown_fallback() {
        assert_eq!(Category::parse("StayInformed"), Category::StayInformed);
        assert_eq!(Category::parse("PLANFORCHANGE"), Category::PlanForChange);
        assert_eq!(
            Category::parse("unknownFutureValue"),
            Category::Unknown("unknownFutureValue".into())
        );
        assert_eq!(Severity::parse("High"), Severity::High);
        assert_eq!(
            HealthStatus::parse("ServiceRestored"),
            HealthStatus::ServiceRestored
        );
        assert_eq!(
            RolloutStatus::parse_feature_status("FeatureRolloutStatusInRollout"),
            RolloutStatus::InRollout
        );
        assert_eq!(
            RolloutStatus::parse_feature_status("Launched"),
            RolloutStatus::Launched
        );
    }

    #[test]
    fn pascal_case_properties_are_accepted() {
        let v = json!({"Id": "MC1", "Title": "T", "Category": "PlanForChange",
                       "Body": {"Content": "<p>x</p>", "ContentType": "Html"},
                       "Details": [{"Name": "Summary", "Value": "s"}]});
        let m = Message::from_graph(&v, 3).unwrap();
        assert_eq!(m.content.category, Category::PlanForChange);
        assert_eq!(m.content.body_html, "<p>x</p>");
        assert_eq!(m.view.summary(), Some("s"));
    }

    #[test]
    fn bad_items_get_clear_errors() {
        let e = Message::from_graph(&json!({"title": "x"}), 4).unwrap_err();
        assert_eq!(e.to_string(), "item 4: has no `id`");
        let e = Message::from_graph(&json!({"id": "MC9", "tags": 5}), 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "item 1 (MC9): `tags` should be a list, not a number"
        );
        let e = Message::from_graph(&json!({"id": "MC9", "startDateTime": "soon"}), 1).unwrap_err();
        assert!(e.to_string().contains("startDateTime"), "{e}");
        assert!(Message::from_graph(&json!([1]), 0).is_err());
    }

    #[test]
    fn digest_ignores_last_modified_only() {
        let a = Message::from_graph(&sample(), 0).unwrap();
        let mut b = a.clone();
        b.content.last_modified = Timestamp::parse("2026-01-01T00:00:00Z").ok();
        assert_eq!(a.content.digest(), b.content.digest());
        b.content.title.push('!');
        assert_ne!(a.content.digest(), b.content.digest());
    }

    #[test]
    fn parses_issue_and_health() {
        let v = json!({"id": "FM298724", "title": "Forms down", "classification": "Incident",
            "origin": "microsoft", "status": "postIncidentReviewPublished", "service": "Microsoft Forms",
            "feature": "Outage", "featureGroup": "Service", "isResolved": true, "highImpact": null,
            "startDateTime": "2021-11-17T13:00:00Z", "lastModifiedDateTime": "2021-11-24T18:04:07.063Z",
            "details": [], "posts": [{"createdDateTime": "2021-11-17T13:32:11.507Z", "postType": "regular",
            "description": {"contentType": "html", "content": "Title: x"}}]});
        let i = Incident::from_graph(&v, 0).unwrap();
        assert_eq!(i.content.classification, Classification::Incident);
        assert_eq!(i.content.status, HealthStatus::PostIncidentReviewPublished);
        assert_eq!(i.posts.len(), 1);
        assert_eq!(
            detect_kind(std::slice::from_ref(&v)),
            Some(ListingKind::Issues)
        );
        let h =
            json!({"service": "Exchange Online", "status": "ServiceOperational", "id": "Exchange"});
        let o = HealthOverview::from_graph(&h, 0).unwrap();
        assert_eq!(o.status, HealthStatus::ServiceOperational);
        assert_eq!(detect_kind(&[h]), Some(ListingKind::HealthOverviews));
        assert_eq!(detect_kind(&[sample()]), Some(ListingKind::Messages));
    }

    #[test]
    fn listing_accepts_array_or_value_object() {
        let a = json!([sample()]);
        assert_eq!(listing_items(&a).unwrap().len(), 1);
        let o = json!({"@odata.context": "x", "value": [sample()]});
        assert_eq!(listing_items(&o).unwrap().len(), 1);
        assert!(listing_items(&json!({"nope": 1})).is_err());
        assert!(listing_items(&json!(3)).is_err());
    }

    #[test]
    fn round_trips_through_graph_shape() {
        let m = Message::from_graph(&sample(), 0).unwrap();
        let back = Message::from_graph(&m.to_graph(), 0).unwrap();
        assert_eq!(m, back);
    }

    #[test]
    fn strip_updated_never_cuts_a_character() {
        // a real 2025 post: the en dash spans bytes 8..11, across the
        // length of "(updated)"
        let tpm = "TPM 2.0 – a necessity for a secure and future-proof Windows 11";
        assert_eq!(strip_updated(tpm), tpm);
        assert_eq!(strip_updated("(Updated) Teams – new"), "Teams – new");
        assert_eq!(strip_updated("  (UPDATED)日本語"), "日本語");
        assert_eq!(strip_updated("(updated"), "(updated");
        assert_eq!(strip_updated("日本語のタイトル"), "日本語のタイトル");
        for s in ["", "–", "(updated)", "12345678–", "1234567日"] {
            let _ = strip_updated(s);
        }
    }

    #[test]
    fn a_real_post_with_a_dash_near_the_start_parses() {
        let mut v = sample();
        v["title"] = json!("TPM 2.0 – a necessity for a secure and future-proof Windows 11");
        let m = Message::from_graph(&v, 0).unwrap();
        assert_eq!(m.content.display_title(), m.content.title);
    }

    #[test]
    fn a_panic_on_one_item_rejects_that_item_only() {
        let items = vec![
            json!({"id": "MC1"}),
            json!({"id": "MC2"}),
            json!({"id": "MC3"}),
        ];
        let listing = parse_listing(&items, |v, i| {
            if v["id"] == "MC2" {
                panic!("boom");
            }
            Message::from_graph(v, i)
        });
        assert_eq!(listing.items.len(), 2);
        assert_eq!(listing.rejected.len(), 1);
        assert_eq!(listing.rejected[0].what, "item 1 (MC2)");
        assert!(
            listing.rejected[0].message.contains("boom"),
            "{:?}",
            listing.rejected
        );
    }
}

// ---------------------------------------------------------------- membership

/// One item of a membership listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    /// Its `lastModifiedDateTime`; `None` if Graph gave none (or one that
    /// is not a date).
    pub last_modified: Option<Timestamp>,
}

/// What [`parse_members`] made of a listing's items.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParsedMembers {
    pub members: Vec<Member>,
    /// Items without a usable id.
    pub unusable: usize,
    /// Whether the items are whole (a property beyond the selected ones,
    /// such as `title`, is there): Graph ignored `$select`.
    pub whole: bool,
}

/// Reads ids and `lastModifiedDateTime`s from a membership listing's items,
/// each as JSON text (outside text: an item that is not an object, or has no
/// string id, is counted as unusable, never a panic).
pub fn parse_members<'a>(items: impl IntoIterator<Item = &'a str>) -> ParsedMembers {
    #[derive(Deserialize)]
    struct Probe {
        id: Option<serde_json::Value>,
        #[serde(rename = "lastModifiedDateTime")]
        last_modified: Option<serde_json::Value>,
        title: Option<serde::de::IgnoredAny>,
        details: Option<serde::de::IgnoredAny>,
    }
    let mut out = ParsedMembers::default();
    for item in items {
        let Ok(probe) = serde_json::from_str::<Probe>(item) else {
            out.unusable += 1;
            continue;
        };
        if probe.title.is_some() || probe.details.is_some() {
            out.whole = true;
        }
        let Some(id) = probe
            .id
            .as_ref()
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
        else {
            out.unusable += 1;
            continue;
        };
        out.members.push(Member {
            id: id.to_string(),
            last_modified: probe
                .last_modified
                .as_ref()
                .and_then(|v| v.as_str())
                .and_then(|s| Timestamp::parse(s).ok()),
        });
    }
    out
}

#[cfg(test)]
mod membership_tests {
    use super::*;

    #[test]
    fn selected_and_whole_items_are_told_apart() {
        let p = parse_members([
            r#"{"id":"MC1","lastModifiedDateTime":"2026-01-02T03:04:05.123Z"}"#,
            r#"{"@odata.etag":"x","id":"MC2","lastModifiedDateTime":null}"#,
            r#"{"id":7}"#,
            r#"[1]"#,
            r#"{"id":"  "}"#,
        ]);
        assert!(!p.whole);
        assert_eq!(p.unusable, 3);
        assert_eq!(
            p.members,
            vec![
                Member {
                    id: "MC1".into(),
                    last_modified: Some(Timestamp::parse("2026-01-02T03:04:05.123Z").unwrap()),
                },
                Member {
                    id: "MC2".into(),
                    last_modified: None,
                },
            ]
        );
        let p = parse_members([r#"{"id":"MC1","title":"T","lastModifiedDateTime":"bad"}"#]);
        assert!(p.whole);
        assert_eq!(p.members[0].last_modified, None);
    }
}
