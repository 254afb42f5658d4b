//! What changed between two versions of a post or an incident: a field-level
//! summary (stored with each revision) and a readable text diff.

use serde::{Deserialize, Serialize};
use similar::{ChangeTag, TextDiff};

use crate::graph::{IncidentContent, MessageContent};
use crate::timestamp::Timestamp;

/// Every field name [`message_changes`] produces, in its order.
pub const MESSAGE_FIELDS: &[&str] = &[
    "title",
    "start",
    "end",
    "act_by",
    "timeline",
    "category",
    "severity",
    "services",
    "tags",
    "major",
    "has_attachments",
    "body",
    "last_modified",
];

/// The fields whose change moves a date of the post: Graph's start, end
/// and act-by, and the rollout timeline read from the body.
pub const DATE_FIELDS: &[&str] = &["start", "end", "act_by", "timeline"];

/// Whether a change of `fields` moved a date ([`DATE_FIELDS`]).
pub fn moves_a_date<S: AsRef<str>>(fields: &[S]) -> bool {
    fields.iter().any(|f| DATE_FIELDS.contains(&f.as_ref()))
}

/// What revisions changed since a point: each field once, in order, and
/// each moved date for people ([`FieldChange::readable`] of a
/// [`DATE_FIELDS`] change).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangedSince {
    pub fields: Vec<String>,
    pub date_moves: Vec<String>,
}

impl ChangedSince {
    /// Adds one revision's change.
    pub fn add(&mut self, c: &FieldChange) {
        if DATE_FIELDS.contains(&c.field.as_str()) {
            self.date_moves.push(c.readable());
        }
        if !self.fields.contains(&c.field) {
            self.fields.push(c.field.clone());
        }
    }
}

/// Changed fields for people: their labels, after `Date moved · ` when one
/// is a date (`Date moved · Rollout timeline, Text`).
pub fn readable_fields<S: AsRef<str>>(fields: &[S]) -> String {
    let labels = fields
        .iter()
        .map(|f| field_label(f.as_ref()))
        .collect::<Vec<_>>()
        .join(", ");
    if moves_a_date(fields) {
        format!("Date moved · {labels}")
    } else {
        labels
    }
}

/// How people name a field of [`MESSAGE_FIELDS`] (or of an incident):
/// `act_by` → `Act by`; an unknown name is returned as it is.
pub fn field_label(field: &str) -> &str {
    match field {
        "title" => "Title",
        "start" => "Start date",
        "end" => "End date",
        "act_by" => "Act by",
        "timeline" => "Rollout timeline",
        "category" => "Category",
        "severity" => "Severity",
        "services" => "Workloads",
        "tags" => "Tags",
        "major" => "Major change",
        "has_attachments" => "Attachments",
        "body" => "Text",
        "last_modified" => "Last modified",
        "status" => "Status",
        "classification" => "Classification",
        "service" => "Workload",
        "feature" => "Feature",
        "is_resolved" => "Resolved",
        "impact_description" => "Impact",
        // a work item's fields, as its log names them
        "state" => "State",
        "assignee" => "Owner",
        "priority" => "Priority",
        "due" => "Due date",
        "decision" => "Decision",
        "labels" => "Labels",
        "changed_since_triage" => "Changed since triage",
        "applicable" => "Applicable",
        "feedback" => "Feedback to Microsoft",
        other => other,
    }
}

/// One field that differs between two versions. For the body, `old` and
/// `new` are absent and `summary` counts the lines added and removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

impl FieldChange {
    fn values(field: &str, old: String, new: String) -> Option<FieldChange> {
        (old != new).then(|| FieldChange {
            field: field.to_string(),
            old: Some(old).filter(|s| !s.is_empty()),
            new: Some(new).filter(|s| !s.is_empty()),
            summary: None,
        })
    }

    /// For people: the field's label and its values, instants as dates
    /// (`Act by: 2026-03-20 → 2026-04-20`, a time of day only when it is
    /// not midnight: `2026-03-20 14:00 UTC`), `Rollout timeline: General
    /// availability: start late April 2026 → mid-May 2026`, `Text: 3 lines
    /// added, 1 removed`.
    pub fn readable(&self) -> String {
        let label = field_label(&self.field);
        if let Some(s) = &self.summary {
            return format!("{label}: {s}");
        }
        let show = |v: &Option<String>| match v.as_deref() {
            None => "none".to_owned(),
            Some(v) => readable_value(v),
        };
        format!("{label}: {} → {}", show(&self.old), show(&self.new))
    }

    /// Whether a person would note it: every field but `last_modified`
    /// (bookkeeping: it moves with every change).
    pub fn noteworthy(&self) -> bool {
        self.field != "last_modified"
    }

    /// `title: "A" → "B"`, `body: 3 lines added, 1 removed`.
    pub fn describe(&self) -> String {
        if let Some(s) = &self.summary {
            return format!("{}: {s}", self.field);
        }
        let show = |v: &Option<String>| match v {
            Some(s) => format!("\"{}\"", ellipsis(s, 80)),
            None => "(none)".to_string(),
        };
        format!("{}: {} → {}", self.field, show(&self.old), show(&self.new))
    }
}

/// A stored value for people: an instant as its date (with the time of
/// day when not midnight UTC, without seconds), anything else as it is,
/// clipped to 160 characters.
pub fn readable_value(v: &str) -> String {
    match Timestamp::parse(v) {
        Ok(t) if t.as_datetime().time() == time::Time::MIDNIGHT => t.date(),
        Ok(t) => t.human(),
        Err(_) => ellipsis(v, 160),
    }
}

fn ellipsis(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

fn ts(t: &Option<Timestamp>) -> String {
    t.map(|t| t.to_canonical()).unwrap_or_default()
}

fn list(v: &[String]) -> String {
    v.join(", ")
}

/// The post's body as plain text, wrapped at 100 columns, for diffs and search.
pub fn body_text(html: &str) -> String {
    if html.trim().is_empty() {
        return String::new();
    }
    html2text::from_read(html.as_bytes(), 100).unwrap_or_else(|_| html.to_string())
}

/// Counts the lines added and removed between two texts.
fn line_counts(old: &str, new: &str) -> (usize, usize) {
    let diff = TextDiff::from_lines(old, new);
    let mut added = 0;
    let mut removed = 0;
    for change in diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => added += 1,
            ChangeTag::Delete => removed += 1,
            ChangeTag::Equal => {}
        }
    }
    (added, removed)
}

fn body_change(old_text: &str, new_text: &str) -> Option<FieldChange> {
    if old_text == new_text {
        return None;
    }
    let (added, removed) = line_counts(old_text, new_text);
    let summary = match (added, removed) {
        (0, 0) => "whitespace changed".to_string(),
        (a, 0) => format!("{a} line{} added", plural(a)),
        (0, r) => format!("{r} line{} removed", plural(r)),
        (a, r) => format!("{a} line{} added, {r} removed", plural(a)),
    };
    Some(FieldChange {
        field: "body".to_string(),
        old: None,
        new: None,
        summary: Some(summary),
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The field-level summary of what changed from `old` to `new`. The body is
/// compared as text (markup-only edits are not changes to the reader).
pub fn message_changes(old: &MessageContent, new: &MessageContent) -> Vec<FieldChange> {
    message_changes_with_text(
        old,
        &body_text(&old.body_html),
        new,
        &body_text(&new.body_html),
    )
}

/// As [`message_changes`], with the bodies' texts already computed.
pub fn message_changes_with_text(
    old: &MessageContent,
    old_text: &str,
    new: &MessageContent,
    new_text: &str,
) -> Vec<FieldChange> {
    [
        FieldChange::values("title", old.title.clone(), new.title.clone()),
        FieldChange::values("start", ts(&old.start), ts(&new.start)),
        FieldChange::values("end", ts(&old.end), ts(&new.end)),
        FieldChange::values("act_by", ts(&old.act_by), ts(&new.act_by)),
        timeline_change(old, new),
        FieldChange::values(
            "category",
            old.category.to_string(),
            new.category.to_string(),
        ),
        FieldChange::values(
            "severity",
            old.severity.to_string(),
            new.severity.to_string(),
        ),
        FieldChange::values("services", list(&old.services), list(&new.services)),
        FieldChange::values("tags", list(&old.tags), list(&new.tags)),
        FieldChange::values("major", old.is_major.to_string(), new.is_major.to_string()),
        FieldChange::values(
            "has_attachments",
            old.has_attachments.to_string(),
            new.has_attachments.to_string(),
        ),
        body_change(old_text, new_text),
        FieldChange::values(
            "last_modified",
            ts(&old.last_modified),
            ts(&new.last_modified),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The rollout timeline read from each version's body (a year left out read
/// against the *old* version's dates for both, so that only the text can
/// move it): `timeline` when a phase's dates moved, with the moves as the
/// summary and each version's phases as `old` and `new`.
fn timeline_change(old: &MessageContent, new: &MessageContent) -> Option<FieldChange> {
    if old.body_html == new.body_html {
        return None;
    }
    // the new body read against the old version's dates
    let as_old = MessageContent {
        body_html: new.body_html.clone(),
        ..old.clone()
    };
    let (a, b) = (
        crate::timeline::of_content(old),
        crate::timeline::of_content(&as_old),
    );
    let moves = crate::timeline::moves(&a, &b);
    if moves.is_empty() {
        return None;
    }
    Some(FieldChange {
        field: "timeline".to_string(),
        old: Some(a.describe()).filter(|s| !s.is_empty()),
        new: Some(b.describe()).filter(|s| !s.is_empty()),
        summary: Some(
            moves
                .iter()
                .map(crate::timeline::Move::describe)
                .collect::<Vec<_>>()
                .join("; "),
        ),
    })
}

/// The field-level summary of what changed in an incident.
pub fn incident_changes(old: &IncidentContent, new: &IncidentContent) -> Vec<FieldChange> {
    [
        FieldChange::values("title", old.title.clone(), new.title.clone()),
        FieldChange::values("status", old.status.to_string(), new.status.to_string()),
        FieldChange::values(
            "classification",
            old.classification.to_string(),
            new.classification.to_string(),
        ),
        FieldChange::values("service", old.service.clone(), new.service.clone()),
        FieldChange::values("feature", old.feature.clone(), new.feature.clone()),
        FieldChange::values(
            "is_resolved",
            old.is_resolved.to_string(),
            new.is_resolved.to_string(),
        ),
        FieldChange::values(
            "impact_description",
            old.impact_description.clone(),
            new.impact_description.clone(),
        ),
        FieldChange::values("start", ts(&old.start), ts(&new.start)),
        FieldChange::values("end", ts(&old.end), ts(&new.end)),
        FieldChange::values(
            "last_modified",
            ts(&old.last_modified),
            ts(&new.last_modified),
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// A post as lines of text: the fields a reader compares, then the body.
pub fn message_as_text(c: &MessageContent) -> String {
    message_as_text_with_body(c, &body_text(&c.body_html))
}

fn message_as_text_with_body(c: &MessageContent, body: &str) -> String {
    let mut out = String::new();
    let line = |out: &mut String, k: &str, v: String| {
        out.push_str(k);
        out.push_str(": ");
        out.push_str(&v);
        out.push('\n');
    };
    line(&mut out, "Title", c.title.clone());
    line(&mut out, "Category", c.category.to_string());
    line(&mut out, "Severity", c.severity.to_string());
    line(&mut out, "Major change", c.is_major.to_string());
    line(&mut out, "Services", list(&c.services));
    line(&mut out, "Tags", list(&c.tags));
    // instants for people (a date, its time of day unless midnight); the
    // last modification is left out: it moves with every change
    let when = |t: &Option<Timestamp>| {
        t.map(|t| readable_value(&t.to_canonical()))
            .unwrap_or_default()
    };
    line(&mut out, "Start date", when(&c.start));
    line(&mut out, "End date", when(&c.end));
    line(&mut out, "Act by", when(&c.act_by));
    out.push('\n');
    out.push_str(body.trim_end());
    out.push('\n');
    out
}

/// A unified diff between two versions of a post, readable in a terminal.
/// `old_name` and `new_name` label the two sides (e.g. `revision 1`).
pub fn message_diff(
    old: &MessageContent,
    new: &MessageContent,
    old_name: &str,
    new_name: &str,
) -> String {
    let a = message_as_text(old);
    let b = message_as_text(new);
    TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(2)
        .header(old_name, new_name)
        .to_string()
}

/// One line of [`message_inline_diff`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    /// `hunk` (a `@@ … @@` line), `ins`, `del`, or `` (context).
    pub class: &'static str,
    /// The line's text in parts; `true` marks the words that changed (on
    /// a line paired with one of the other side).
    pub parts: Vec<(bool, String)>,
}

/// The readable diff of two versions of a post ([`message_as_text`] of
/// each), lines with two of context around each change, and within a
/// changed line the words that changed marked.
pub fn message_inline_diff(old: &MessageContent, new: &MessageContent) -> Vec<DiffLine> {
    let (a, b) = (message_as_text(old), message_as_text(new));
    let diff = TextDiff::from_lines(&a, &b);
    let mut out = Vec::new();
    for group in diff.grouped_ops(2) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (o, n) = (first.old_range().start, first.new_range().start);
        let (oe, ne) = (last.old_range().end, last.new_range().end);
        out.push(DiffLine {
            class: "hunk",
            parts: vec![(
                false,
                format!("@@ -{},{} +{},{} @@", o + 1, oe - o, n + 1, ne - n),
            )],
        });
        for op in &group {
            for change in diff.iter_inline_changes(op) {
                let (class, sign) = match change.tag() {
                    ChangeTag::Insert => ("ins", "+"),
                    ChangeTag::Delete => ("del", "-"),
                    ChangeTag::Equal => ("", " "),
                };
                let mut parts = vec![(false, sign.to_owned())];
                for (emphasized, text) in change.iter_strings_lossy() {
                    let text = text.trim_end_matches('\n');
                    if !text.is_empty() {
                        parts.push((emphasized, text.to_owned()));
                    }
                }
                out.push(DiffLine { class, parts });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{Category, Severity};

    fn content() -> MessageContent {
        MessageContent {
            id: "MC1".into(),
            title: "Teams: thing".into(),
            category: Category::PlanForChange,
            severity: Severity::Normal,
            services: vec!["Microsoft Teams".into()],
            tags: vec!["User impact".into()],
            is_major: false,
            start: Timestamp::parse("2025-01-01T00:00:00Z").ok(),
            end: Timestamp::parse("2025-06-01T00:00:00Z").ok(),
            act_by: None,
            last_modified: Timestamp::parse("2025-01-01T00:00:00Z").ok(),
            body_html: "<p>[When this will happen:]</p><p>Rollout begins in March 2025.</p>".into(),
            has_attachments: false,
        }
    }

    #[test]
    fn no_changes_between_identical_versions() {
        let a = content();
        assert!(message_changes(&a, &a).is_empty());
    }

    #[test]
    fn field_level_summary() {
        let a = content();
        let mut b = content();
        b.title = "(Updated) Teams: thing".into();
        b.act_by = Timestamp::parse("2025-04-01T00:00:00Z").ok();
        b.tags.push("Updated message".into());
        b.body_html = "<p>[When this will happen:]</p><p>Rollout begins in May 2025.</p>".into();
        b.last_modified = Timestamp::parse("2025-02-01T00:00:00Z").ok();
        let fields: Vec<String> = message_changes(&a, &b)
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            vec![
                "title",
                "act_by",
                "timeline",
                "tags",
                "body",
                "last_modified"
            ]
        );
        let moved = message_changes(&a, &b)
            .into_iter()
            .find(|c| c.field == "timeline")
            .unwrap();
        assert_eq!(
            moved.readable(),
            "Rollout timeline: Rollout: start March 2025 → May 2025"
        );
        let act = message_changes(&a, &b)
            .into_iter()
            .find(|c| c.field == "act_by")
            .unwrap();
        assert_eq!(act.readable(), "Act by: none → 2025-04-01");
        assert!(
            !message_changes(&a, &b)
                .iter()
                .find(|c| c.field == "last_modified")
                .unwrap()
                .noteworthy()
        );
        let body = message_changes(&a, &b)
            .into_iter()
            .find(|c| c.field == "body")
            .unwrap();
        assert_eq!(body.describe(), "body: 1 line added, 1 removed");
        let act = message_changes(&a, &b)
            .into_iter()
            .find(|c| c.field == "act_by")
            .unwrap();
        assert_eq!(
            act.describe(),
            "act_by: (none) → \"2025-04-01T00:00:00.000000Z\""
        );
    }

    #[test]
    fn markup_only_changes_are_not_body_changes() {
        let a = content();
        let mut b = content();
        b.body_html =
            "<p>[When this will happen:]</p>\n<p>Rollout begins in March 2025.</p>".into();
        assert!(message_changes(&a, &b).is_empty());
    }

    #[test]
    fn readable_diff_shows_the_moved_date() {
        let a = content();
        let mut b = content();
        b.body_html = "<p>[When this will happen:]</p><p>Rollout begins in May 2025.</p>".into();
        let d = message_diff(&a, &b, "revision 1", "revision 2");
        assert!(d.contains("--- revision 1"), "{d}");
        assert!(d.contains("-Rollout begins in March 2025."), "{d}");
        assert!(d.contains("+Rollout begins in May 2025."), "{d}");
    }

    #[test]
    fn the_inline_diff_marks_the_words_that_changed() {
        let a = content();
        let mut b = content();
        b.body_html = "<p>[When this will happen:]</p><p>Rollout begins in May 2025.</p>".into();
        let lines = message_inline_diff(&a, &b);
        assert_eq!(lines.first().map(|l| l.class), Some("hunk"));
        let del = lines.iter().find(|l| l.class == "del").unwrap();
        let ins = lines.iter().find(|l| l.class == "ins").unwrap();
        let marked = |l: &DiffLine| -> Vec<String> {
            l.parts
                .iter()
                .filter(|(m, _)| *m)
                .map(|(_, t)| t.clone())
                .collect()
        };
        assert_eq!(marked(del), vec!["March"]);
        assert_eq!(marked(ins), vec!["May"]);
        let whole: String = ins.parts.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(whole, "+Rollout begins in May 2025.");
        assert!(message_inline_diff(&a, &a).is_empty());
    }
}
