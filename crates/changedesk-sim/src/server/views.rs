//! What each tenant sees, precomputed once per corpus version, and how a
//! page of it is cut and written: query options, `$skiptoken`s and the
//! page envelope.
//!
//! Items are serialized once per corpus version into a shared [`Pool`].
//! A generated post's `FeatureStatusJson` differs by tenant, so its pool
//! bytes have holes ("slots") where a tenant view's [`Entry`] puts its own
//! value; everything else is shared by all tenants.

use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::clock::to_ms;
use crate::generate::{Corpus, mc_number, sees, tenant_health_overviews};
use crate::issue::issue_number;
use crate::message::{FeatureStatusSource, feature_status_sources};
use crate::rng::{par_map, stream};

/// The three collections under `/admin/serviceAnnouncement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Messages,
    Issues,
    Health,
}

const MESSAGE_PROPERTIES: &[&str] = &[
    "id",
    "title",
    "startDateTime",
    "endDateTime",
    "lastModifiedDateTime",
    "details",
    "body",
    "category",
    "severity",
    "tags",
    "isMajorChange",
    "actionRequiredByDateTime",
    "services",
    "expiryDateTime",
    "hasAttachments",
    "viewPoint",
    "attachments",
];

const ISSUE_PROPERTIES: &[&str] = &[
    "id",
    "title",
    "startDateTime",
    "endDateTime",
    "lastModifiedDateTime",
    "details",
    "classification",
    "status",
    "origin",
    "service",
    "feature",
    "featureGroup",
    "impactDescription",
    "isResolved",
    "posts",
];

const HEALTH_PROPERTIES: &[&str] = &["id", "service", "status", "issues"];

impl Kind {
    pub fn from_segment(s: &str) -> Option<Kind> {
        match s {
            "messages" => Some(Kind::Messages),
            "issues" => Some(Kind::Issues),
            "healthOverviews" => Some(Kind::Health),
            _ => None,
        }
    }

    pub fn segment(self) -> &'static str {
        match self {
            Kind::Messages => "messages",
            Kind::Issues => "issues",
            Kind::Health => "healthOverviews",
        }
    }

    fn type_name(self) -> &'static str {
        match self {
            Kind::Messages => "microsoft.graph.serviceUpdateMessage",
            Kind::Issues => "microsoft.graph.serviceHealthIssue",
            Kind::Health => "microsoft.graph.serviceHealth",
        }
    }

    fn code(self) -> u8 {
        match self {
            Kind::Messages => 1,
            Kind::Issues => 2,
            Kind::Health => 3,
        }
    }

    fn properties(self) -> &'static [&'static str] {
        match self {
            Kind::Messages => MESSAGE_PROPERTIES,
            Kind::Issues => ISSUE_PROPERTIES,
            Kind::Health => HEALTH_PROPERTIES,
        }
    }

    fn has_last_modified(self) -> bool {
        self != Kind::Health
    }
}

/// One item serialized once, shared by every tenant view of a version.
struct PoolItem {
    id: Box<str>,
    /// MC number or issue number: what tenant visibility is drawn from.
    number: Option<u64>,
    /// `lastModifiedDateTime` in Unix nanoseconds.
    modified: Option<i128>,
    /// The JSON, without the slot values.
    bytes: Box<[u8]>,
    /// Byte offsets in `bytes` where the per-tenant slot values go.
    slots: Box<[usize]>,
    /// What each slot's value is computed from.
    sources: Box<[FeatureStatusSource]>,
}

/// A placeholder that cannot occur in real content: it marks where a slot
/// goes while an item is serialized.
const SLOT_MARK: &str = "\u{0}\u{1}changedesk-sim-slot\u{1}\u{0}";

fn modified_nanos(v: &Value) -> Option<i128> {
    let s = v["lastModifiedDateTime"].as_str()?;
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp_nanos)
}

impl PoolItem {
    fn plain(v: &Value, number: Option<u64>) -> PoolItem {
        PoolItem {
            id: v["id"].as_str().unwrap_or_default().into(),
            number,
            modified: modified_nanos(v),
            bytes: serde_json::to_vec(v).unwrap_or_default().into(),
            slots: Box::new([]),
            sources: Box::new([]),
        }
    }

    /// A generated post, with a slot for each `FeatureStatusJson` value.
    fn message(v: &Value, now: i64) -> PoolItem {
        let number = mc_number(v);
        let sources = feature_status_sources(v, now);
        if sources.is_empty() {
            return PoolItem::plain(v, number);
        }
        let mut marked = v.clone();
        for (i, _) in &sources {
            marked["details"][*i]["value"] = Value::String(SLOT_MARK.to_owned());
        }
        let raw = serde_json::to_vec(&marked).unwrap_or_default();
        let mark = serde_json::to_vec(SLOT_MARK).unwrap_or_default();
        let mut bytes = Vec::with_capacity(raw.len());
        let mut slots = Vec::with_capacity(sources.len());
        let mut rest = &raw[..];
        while let Some(at) = rest.windows(mark.len()).position(|w| w == mark) {
            bytes.extend_from_slice(&rest[..at]);
            slots.push(bytes.len());
            rest = &rest[at + mark.len()..];
        }
        bytes.extend_from_slice(rest);
        if slots.len() != sources.len() {
            return PoolItem::plain(v, number);
        }
        PoolItem {
            id: v["id"].as_str().unwrap_or_default().into(),
            number,
            modified: modified_nanos(v),
            bytes: bytes.into(),
            slots: slots.into(),
            sources: sources.into_iter().map(|(_, s)| s).collect(),
        }
    }
}

pub(crate) struct Pool {
    items: Vec<PoolItem>,
}

struct Entry {
    item: u32,
    /// The slot values of this view, as JSON string literals.
    slots: Box<[Box<str>]>,
}

/// One tenant's view of one collection, in Graph's default order.
pub(crate) struct View {
    pool: Arc<Pool>,
    entries: Vec<Entry>,
}

impl View {
    fn all(pool: Arc<Pool>) -> View {
        let entries = (0..pool.items.len())
            .map(|i| Entry {
                item: i as u32,
                slots: Box::new([]),
            })
            .collect();
        View { pool, entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn item(&self, i: usize) -> &PoolItem {
        &self.pool.items[self.entries[i].item as usize]
    }

    pub fn id(&self, i: usize) -> &str {
        &self.item(i).id
    }

    fn modified(&self, i: usize) -> Option<i128> {
        self.item(i).modified
    }

    fn size(&self, i: usize) -> usize {
        self.item(i).bytes.len() + self.entries[i].slots.iter().map(|s| s.len()).sum::<usize>()
    }

    /// Appends item `i`'s JSON.
    pub fn write(&self, i: usize, out: &mut Vec<u8>) {
        let item = self.item(i);
        let values = &self.entries[i].slots;
        if values.len() != item.slots.len() {
            out.extend_from_slice(&item.bytes);
            return;
        }
        let mut from = 0;
        for (at, value) in item.slots.iter().zip(values.iter()) {
            out.extend_from_slice(&item.bytes[from..*at]);
            out.extend_from_slice(value.as_bytes());
            from = *at;
        }
        out.extend_from_slice(&item.bytes[from..]);
    }

    /// The position of the item with this id (case-insensitive).
    pub fn find(&self, id: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.id(i).eq_ignore_ascii_case(id))
    }
}

#[derive(Default)]
struct TenantViews {
    messages: OnceLock<Arc<View>>,
    issues: OnceLock<Arc<View>>,
    health: OnceLock<Arc<View>>,
}

/// One version of what the simulator serves.
pub(crate) struct Snapshot {
    pub version: u64,
    pub corpus: Arc<Corpus>,
    pub file_items: Option<Arc<Vec<Value>>>,
    message_pool: OnceLock<Arc<Pool>>,
    issue_pool: OnceLock<Arc<Pool>>,
    file_view: OnceLock<Arc<View>>,
    tenants: Vec<TenantViews>,
    /// The corpus's roadmap (`crate::roadmap`), made when first asked.
    roadmap: OnceLock<Arc<Vec<Value>>>,
}

impl Snapshot {
    pub fn new(
        version: u64,
        corpus: Arc<Corpus>,
        file_items: Option<Arc<Vec<Value>>>,
        tenants: usize,
    ) -> Snapshot {
        Snapshot {
            version,
            corpus,
            file_items,
            message_pool: OnceLock::new(),
            issue_pool: OnceLock::new(),
            file_view: OnceLock::new(),
            tenants: (0..tenants).map(|_| TenantViews::default()).collect(),
            roadmap: OnceLock::new(),
        }
    }

    /// The corpus's roadmap.
    pub fn roadmap(&self) -> Arc<Vec<Value>> {
        Arc::clone(
            self.roadmap
                .get_or_init(|| Arc::new(crate::roadmap::roadmap(&self.corpus))),
        )
    }

    fn cell(&self, kind: Kind, t: usize) -> &OnceLock<Arc<View>> {
        match kind {
            Kind::Messages if self.file_items.is_some() => &self.file_view,
            Kind::Messages => &self.tenants[t].messages,
            Kind::Issues => &self.tenants[t].issues,
            Kind::Health => &self.tenants[t].health,
        }
    }

    /// The view if it is already computed.
    pub fn ready(&self, kind: Kind, t: usize) -> Option<Arc<View>> {
        self.cell(kind, t).get().cloned()
    }

    /// The view, computing it on first use (CPU-bound: call it off the
    /// async runtime).
    pub fn view(&self, kind: Kind, t: usize) -> Arc<View> {
        Arc::clone(
            self.cell(kind, t)
                .get_or_init(|| Arc::new(self.build(kind, t))),
        )
    }

    fn build(&self, kind: Kind, t: usize) -> View {
        let corpus = &self.corpus;
        let seed = corpus.spec.seed;
        let coverage = corpus.spec.coverage;
        let now = to_ms(corpus.spec.base_time);
        match kind {
            Kind::Messages => {
                if let Some(items) = &self.file_items {
                    let items = items.iter().map(|v| PoolItem::plain(v, None)).collect();
                    return View::all(Arc::new(Pool { items }));
                }
                let pool = Arc::clone(self.message_pool.get_or_init(|| {
                    let items = par_map(&corpus.messages, |m| PoolItem::message(m, now));
                    Arc::new(Pool { items })
                }));
                let entries = pool
                    .items
                    .iter()
                    .enumerate()
                    .filter(|(_, it)| {
                        it.number
                            .is_some_and(|n| sees(seed, stream::VISIBLE, t, n, coverage))
                    })
                    .map(|(i, it)| Entry {
                        item: i as u32,
                        slots: it
                            .sources
                            .iter()
                            .map(|s| {
                                serde_json::to_string(&s.render(seed, t as u64, now))
                                    .unwrap_or_default()
                                    .into_boxed_str()
                            })
                            .collect(),
                    })
                    .collect();
                View { pool, entries }
            }
            Kind::Issues => {
                let pool = Arc::clone(self.issue_pool.get_or_init(|| {
                    let items = corpus
                        .issues
                        .iter()
                        .map(|i| PoolItem::plain(i, i["id"].as_str().and_then(issue_number)))
                        .collect();
                    Arc::new(Pool { items })
                }));
                let entries = pool
                    .items
                    .iter()
                    .enumerate()
                    .filter(|(_, it)| {
                        it.number
                            .is_some_and(|n| sees(seed, stream::ISSUE_VISIBLE, t, n, coverage))
                    })
                    .map(|(i, _)| Entry {
                        item: i as u32,
                        slots: Box::new([]),
                    })
                    .collect();
                View { pool, entries }
            }
            Kind::Health => {
                let items = tenant_health_overviews(corpus, t)
                    .iter()
                    .map(|v| PoolItem::plain(v, None))
                    .collect();
                View::all(Arc::new(Pool { items }))
            }
        }
    }
}

/// The query options of a list request.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pub filter: Option<String>,
    pub select: Option<String>,
    pub orderby: Option<String>,
    pub top: Option<String>,
    pub skip: Option<String>,
    pub skiptoken: Option<String>,
}

/// Reads the query options; an unsupported or repeated `$` option is an
/// error (its message). Options without `$` are ignored.
pub(crate) fn parse_query(raw: Option<&str>) -> Result<Query, String> {
    let mut q = Query::default();
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let slot = match key.as_ref() {
            "$filter" => &mut q.filter,
            "$select" => &mut q.select,
            "$orderby" => &mut q.orderby,
            "$top" => &mut q.top,
            "$skip" => &mut q.skip,
            "$skiptoken" => &mut q.skiptoken,
            k if k.starts_with('$') => {
                return Err(format!(
                    "Query option '{k}' is not supported by the simulator (supported: $filter, $select, $orderby, $top, $skip, $skiptoken)."
                ));
            }
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!(
                "Query option '{key}' was specified more than once, but it must be specified at most once."
            ));
        }
        *slot = Some(value.into_owned());
    }
    Ok(q)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        match s.to_ascii_lowercase().as_str() {
            "eq" => Some(Op::Eq),
            "ne" => Some(Op::Ne),
            "gt" => Some(Op::Gt),
            "ge" => Some(Op::Ge),
            "lt" => Some(Op::Lt),
            "le" => Some(Op::Le),
            _ => None,
        }
    }

    fn kind_name(self) -> &'static str {
        match self {
            Op::Eq => "Equal",
            Op::Ne => "NotEqual",
            Op::Gt => "GreaterThan",
            Op::Ge => "GreaterThanOrEqual",
            Op::Lt => "LessThan",
            Op::Le => "LessThanOrEqual",
        }
    }

    fn test(self, ord: Ordering) -> bool {
        match self {
            Op::Eq => ord == Ordering::Equal,
            Op::Ne => ord != Ordering::Equal,
            Op::Gt => ord == Ordering::Greater,
            Op::Ge => ord != Ordering::Less,
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
        }
    }
}

/// A conjunction of `lastModifiedDateTime <op> <DateTimeOffset>` clauses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter(Vec<(Op, i128)>);

impl Filter {
    fn matches(&self, modified: Option<i128>) -> bool {
        match modified {
            Some(m) => self.0.iter().all(|(op, at)| op.test(m.cmp(at))),
            None => self.0.is_empty(),
        }
    }
}

fn invalid_filter(detail: &str) -> String {
    format!("Invalid filter clause: {detail}")
}

/// Parses a `$filter`. Supported: `lastModifiedDateTime` compared (`eq`,
/// `ne`, `gt`, `ge`, `lt`, `le`) with an unquoted DateTimeOffset literal,
/// and `and` of such clauses, each optionally in parentheses.
pub(crate) fn parse_filter(text: &str, kind: Kind) -> Result<Filter, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    if words.is_empty() {
        return Err(invalid_filter("The filter expression is empty."));
    }
    let mentions_details = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("details"));
    if mentions_details {
        return Err("Filter on details is not supported".to_owned());
    }
    let mut clauses = Vec::new();
    for group in words.split(|w| w.eq_ignore_ascii_case("and")) {
        let [prop, op, literal] = group else {
            return Err(invalid_filter(&format!(
                "Syntax error in '{text}': the simulator supports only 'lastModifiedDateTime <eq|ne|gt|ge|lt|le> <DateTimeOffset>' clauses joined by 'and'."
            )));
        };
        let opens = prop.chars().take_while(|c| *c == '(').count();
        let closes = literal.chars().rev().take_while(|c| *c == ')').count();
        if opens != closes {
            return Err(invalid_filter(&format!(
                "Syntax error: unbalanced parentheses in '{text}'."
            )));
        }
        let prop = &prop[opens..];
        let literal = &literal[..literal.len() - closes];
        if !(kind.has_last_modified() && prop.eq_ignore_ascii_case("lastModifiedDateTime")) {
            let known = kind
                .properties()
                .iter()
                .any(|p| p.eq_ignore_ascii_case(prop));
            return Err(invalid_filter(&if known {
                format!(
                    "the simulator supports filters on lastModifiedDateTime only, not on '{prop}'."
                )
            } else {
                format!(
                    "Could not find a property named '{prop}' on type '{}'.",
                    kind.type_name()
                )
            }));
        }
        let Some(op) = Op::parse(op) else {
            return Err(invalid_filter(&format!(
                "Syntax error: '{op}' is not a supported operator in '{text}'."
            )));
        };
        if literal.starts_with('\'') || literal.starts_with('"') {
            return Err(invalid_filter(&format!(
                "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' and 'Edm.String' for operator kind '{}'.",
                op.kind_name()
            )));
        }
        let Ok(at) = OffsetDateTime::parse(literal, &Rfc3339) else {
            return Err(invalid_filter(&format!(
                "The DateTimeOffset text '{literal}' should be in format 'yyyy-mm-ddThh:mm:ss('.'s+)?(zzzzzz)?' and each field value is within valid range."
            )));
        };
        clauses.push((op, at.unix_timestamp_nanos()));
    }
    Ok(Filter(clauses))
}

/// Parses a `$orderby`: `lastModifiedDateTime` with `asc` (the default) or
/// `desc`. Returns whether it is descending.
pub(crate) fn parse_orderby(text: &str, kind: Kind) -> Result<bool, String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let (prop, desc) = match words.as_slice() {
        [prop] => (*prop, false),
        [prop, dir] if dir.eq_ignore_ascii_case("asc") => (*prop, false),
        [prop, dir] if dir.eq_ignore_ascii_case("desc") => (*prop, true),
        _ => {
            return Err(format!(
                "Invalid $orderby '{text}': the simulator supports 'lastModifiedDateTime [asc|desc]'."
            ));
        }
    };
    if !(kind.has_last_modified() && prop.eq_ignore_ascii_case("lastModifiedDateTime")) {
        return Err(format!(
            "Invalid $orderby '{text}': the simulator supports ordering by lastModifiedDateTime only ({}).",
            kind.type_name()
        ));
    }
    Ok(desc)
}

/// What a `$skiptoken` carries: the version and position it was issued at,
/// the last id returned, and the query it continues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SkipToken {
    v: u64,
    c: u8,
    t: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    f: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<String>,
    /// `$select`, as asked (honoured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    s: Option<String>,
    p: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    l: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<u64>,
}

const TOKEN_PREFIX: &str = "cds1";

impl SkipToken {
    fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    fn decode(s: &str) -> Option<SkipToken> {
        let bytes = URL_SAFE_NO_PAD.decode(s.strip_prefix(TOKEN_PREFIX)?).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// Where a page is served from.
pub(crate) struct PageContext<'a> {
    pub kind: Kind,
    pub tenant: usize,
    pub version: u64,
    pub page_size: usize,
    /// `http://host:port/`, for `@odata.context` and `@odata.nextLink`.
    pub base: &'a str,
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Writes one page of `view` for `q`; an error is the message of a `400
/// BadRequest`.
pub(crate) fn render_page(view: &View, q: &Query, cx: &PageContext<'_>) -> Result<Vec<u8>, String> {
    let token = match &q.skiptoken {
        Some(raw) => {
            let token = SkipToken::decode(raw)
                .filter(|t| t.c == cx.kind.code() && t.t as usize == cx.tenant)
                .ok_or_else(|| "The $skiptoken is not valid for this request.".to_owned())?;
            Some(token)
        }
        None => None,
    };
    let (filter_text, order_text, select_text) = match &token {
        Some(t) => (t.f.clone(), t.o.clone(), t.s.clone()),
        None => (q.filter.clone(), q.orderby.clone(), q.select.clone()),
    };
    let select = select_text
        .as_deref()
        .map(|s| parse_select(s, cx.kind))
        .transpose()?;
    let filter = filter_text
        .as_deref()
        .map(|f| parse_filter(f, cx.kind))
        .transpose()?;
    let desc = order_text
        .as_deref()
        .map(|o| parse_orderby(o, cx.kind))
        .transpose()?;

    let mut order: Vec<usize> = (0..view.len())
        .filter(|&i| filter.as_ref().is_none_or(|f| f.matches(view.modified(i))))
        .collect();
    match desc {
        Some(false) => {
            order.sort_by(|&a, &b| view.modified(a).cmp(&view.modified(b)).then(a.cmp(&b)))
        }
        Some(true) => {
            order.sort_by(|&a, &b| view.modified(b).cmp(&view.modified(a)).then(a.cmp(&b)))
        }
        None => {}
    }

    let (start, remaining) = match &token {
        Some(t) if t.v == cx.version => (t.p as usize, t.r),
        Some(t) => {
            // Issued for an older corpus version: continue after the last
            // item it returned if that item is still there, else at the
            // same position.
            let after =
                t.l.as_deref()
                    .and_then(|l| order.iter().position(|&i| view.id(i) == l));
            (after.map_or(t.p as usize, |p| p + 1), t.r)
        }
        None => {
            let skip = match &q.skip {
                Some(s) => s
                    .parse::<usize>()
                    .map_err(|_| format!("Invalid value '{s}' for $skip query option found."))?,
                None => 0,
            };
            let top = match &q.top {
                Some(s) => Some(
                    s.parse::<u64>()
                        .map_err(|_| format!("Invalid value '{s}' for $top query option found."))?,
                ),
                None => None,
            };
            (skip, top)
        }
    };
    let start = start.min(order.len());
    let available = order.len() - start;
    let mut take = cx.page_size.min(available);
    if let Some(r) = remaining {
        take = take.min(usize::try_from(r).unwrap_or(usize::MAX));
    }
    let end = start + take;
    let left = remaining.map(|r| r - take as u64);
    let more = end < order.len() && left.is_none_or(|r| r > 0);

    let page = &order[start..end];
    let mut out = Vec::with_capacity(256 + page.iter().map(|&i| view.size(i) + 1).sum::<usize>());
    out.extend_from_slice(b"{\"@odata.context\":");
    out.extend_from_slice(
        json_str(&format!(
            "{}v1.0/$metadata#admin/serviceAnnouncement/{}",
            cx.base,
            cx.kind.segment()
        ))
        .as_bytes(),
    );
    if more {
        let next = SkipToken {
            v: cx.version,
            c: cx.kind.code(),
            t: cx.tenant as u32,
            f: filter_text,
            o: order_text,
            s: select_text,
            p: end as u64,
            l: page
                .last()
                .map(|&i| view.id(i).to_owned())
                .or_else(|| token.and_then(|t| t.l)),
            r: left,
        };
        out.extend_from_slice(b",\"@odata.nextLink\":");
        out.extend_from_slice(
            json_str(&format!(
                "{}v1.0/admin/serviceAnnouncement/{}?$skiptoken={}",
                cx.base,
                cx.kind.segment(),
                next.encode()
            ))
            .as_bytes(),
        );
    }
    out.extend_from_slice(b",\"value\":[");
    for (n, &i) in page.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        match &select {
            None => view.write(i, &mut out),
            Some(props) => {
                let mut whole = Vec::with_capacity(view.size(i));
                view.write(i, &mut whole);
                out.extend_from_slice(&selected(&whole, props));
            }
        }
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// The properties a `$select` names: each must be one of the kind's, as in
/// Graph ("Could not find a property named …").
fn parse_select(text: &str, kind: Kind) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for p in text.split(',').map(str::trim) {
        if !kind.properties().contains(&p) {
            return Err(format!(
                "Could not find a property named '{p}' on type '{}'.",
                kind.type_name()
            ));
        }
        out.push(p.to_owned());
    }
    Ok(out)
}

/// An item's JSON with only the selected properties (in the item's order).
fn selected(item: &[u8], props: &[String]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Map<String, Value>>(item) {
        Ok(mut map) => {
            map.retain(|k, _| props.iter().any(|p| p == k));
            serde_json::to_vec(&map).unwrap_or_default()
        }
        Err(_) => item.to_vec(),
    }
}

/// Writes one item with its `@odata.context`, as `GET .../{id}` returns it.
pub(crate) fn render_item(view: &View, i: usize, kind: Kind, base: &str) -> Vec<u8> {
    let mut item = Vec::with_capacity(view.size(i));
    view.write(i, &mut item);
    let mut out = Vec::with_capacity(item.len() + 128);
    out.extend_from_slice(b"{\"@odata.context\":");
    out.extend_from_slice(
        json_str(&format!(
            "{base}v1.0/$metadata#admin/serviceAnnouncement/{}/$entity",
            kind.segment()
        ))
        .as_bytes(),
    );
    let rest = item.strip_prefix(b"{").unwrap_or(b"}");
    if rest.first() != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    out
}
