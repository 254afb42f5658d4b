//! A post's preview for lists: what it is about (its introduction) and what
//! to do (its "what you can do to prepare" or "action required" section),
//! each a few sentences of the body's plain text, clipped at a word.
//!
//! Microsoft writes bodies in a loose convention: sections headed by a
//! bracketed label (`[Introduction:]`, `[What you can do to prepare:]`,
//! `[Action required/recommendations:]`) or by a bold line ending in a
//! colon (`How this affects your organization:`). A body with no
//! introduction heading gives its first lines before any heading; a body
//! with no preparation heading gives no "what to do" (never a guess).
//! Nothing here is invented: every word is the body's.

use serde::{Deserialize, Serialize};

use crate::timeline::plain_lines;

/// At most this many characters in each part.
pub const PART_CHARS: usize = 300;

/// A post's preview: both parts plain text, either may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    /// What the post is about.
    #[serde(default)]
    pub summary: String,
    /// What an admin is asked to do.
    #[serde(default)]
    pub prepare: String,
}

impl Preview {
    pub fn is_empty(&self) -> bool {
        self.summary.is_empty() && self.prepare.is_empty()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Intro,
    Prepare,
    Other,
}

/// Headings that start a post's introduction.
const INTRO: &[&str] = &[
    "introduction",
    "what and why",
    "what's changing",
    "what’s changing",
    "what is changing",
    "what's happening",
    "what is happening",
    "overview",
    "summary",
];

/// Headings that start what an admin should do.
const PREPARE: &[&str] = &[
    "what you can do to prepare",
    "what you need to do to prepare",
    "what you need to do",
    "what do you need to do",
    "what can you do",
    "what can i do",
    "what should i do",
    "how you can prepare",
    "how to prepare",
    "action required",
    "actions required",
    "action recommended",
    "recommended action",
    "next steps",
];

/// Headings of other sections: they end the one before.
const OTHER: &[&str] = &[
    "when this will happen",
    "when will this happen",
    "when this happens",
    "rollout schedule",
    "rollout timeline",
    "timeline",
    "how this will affect",
    "how this affects",
    "how does this affect",
    "how will this affect",
    "how this change affects",
    "impact on your organization",
    "impact",
    "who is affected",
    "compliance considerations",
    "additional information",
    "additional resources",
    "additional considerations",
    "more information",
    "for more information",
    "learn more",
    "known issues",
    "current experience",
    "new experience",
    "faq",
];

/// The longest line (in characters) read as a heading without brackets.
const HEADING_CHARS: usize = 70;

/// The preview of a post whose body is `body_html`.
pub fn of_body(body_html: &str) -> Preview {
    // the text a reader sees: what scripts and styles hold is not
    let lines = plain_lines(&crate::sanitize::body(body_html));
    let mut lead: Vec<String> = Vec::new();
    let mut intro: Vec<String> = Vec::new();
    let mut prepare: Vec<String> = Vec::new();
    // the section being read: None before the first heading
    let mut section: Option<Kind> = None;
    let mut seen_intro = false;
    let mut seen_prepare = false;
    // a body with bracketed headings has its sections there: its bold
    // `Label:` lines ("Learn more:", "Action Required: only if …") are
    // inside sections, not headings
    let bracketed = lines
        .iter()
        .any(|l| is_bracketed(l) && heading(l).is_some());
    for line in &lines {
        let found = match bracketed && !is_bracketed(line) {
            true => None,
            false => heading(line),
        };
        let (text, kind) = match found {
            // the same heading again right after itself: the same section
            Some((kind, rest)) if Some(kind) == section && kind != Kind::Other => (rest, section),
            Some((kind, rest)) => {
                // a section heading seen twice (a repeated label) is read once
                let again = match kind {
                    Kind::Intro => seen_intro,
                    Kind::Prepare => seen_prepare,
                    Kind::Other => false,
                };
                section = Some(if again { Kind::Other } else { kind });
                match kind {
                    Kind::Intro => seen_intro = true,
                    Kind::Prepare => seen_prepare = true,
                    Kind::Other => {}
                }
                (rest, section)
            }
            None => (line.clone(), section),
        };
        if text.is_empty() {
            continue;
        }
        match kind {
            None if !is_note(&text) => lead.push(text),
            Some(Kind::Intro) if !is_note(&text) => intro.push(text),
            Some(Kind::Prepare) => prepare.push(text),
            _ => {}
        }
    }
    let summary = if intro.is_empty() { lead } else { intro };
    Preview {
        summary: clip_words(&summary.join(" "), PART_CHARS),
        prepare: clip_words(&prepare.join(" "), PART_CHARS),
    }
}

/// A line that says nothing of the change itself: an update note
/// ("Updated April 27, 2026: …") or the roadmap reference.
fn is_note(line: &str) -> bool {
    let low = line.to_lowercase();
    crate::timeline::starts_with_update_note(line)
        || low.starts_with("this message is associated with")
        || low.starts_with("this message is related to")
}

fn is_bracketed(line: &str) -> bool {
    line.trim_start_matches(['*', ' ']).starts_with('[')
}

/// The heading `line` starts with, if any, and the text after it on the
/// same line.
fn heading(line: &str) -> Option<(Kind, String)> {
    let t = line.trim_start_matches(['*', ' ']);
    if let Some(inner) = t.strip_prefix('[') {
        // `[Label:] rest`: any bracketed label is a heading
        let (label, rest) = inner.split_once(']')?;
        if label.chars().count() > HEADING_CHARS {
            return None;
        }
        let rest = rest.trim_start_matches([':', ' ']).trim().to_string();
        return Some((kind_of(label).unwrap_or(Kind::Other), rest));
    }
    // `Label: rest`, or a short line that is a label alone
    let (label, rest) = match t.split_once(':') {
        Some((label, rest)) => (label, rest.trim().to_string()),
        None if t.chars().count() <= HEADING_CHARS && !t.trim_end().ends_with('.') => {
            (t, String::new())
        }
        None => return None,
    };
    if label.chars().count() > HEADING_CHARS {
        return None;
    }
    Some((kind_of(label)?, rest))
}

/// What a heading's label names, when it starts with a known heading.
fn kind_of(label: &str) -> Option<Kind> {
    let low = label
        .trim_matches(|c: char| c.is_whitespace() || matches!(c, '*' | ':' | '?' | '[' | ']'))
        .to_lowercase();
    let starts = |list: &[&str]| {
        list.iter().any(|h| {
            low.strip_prefix(h).is_some_and(|after| {
                // a whole word: "impact" is not "impactful"
                after.is_empty() || !after.starts_with(|c: char| c.is_alphanumeric())
            })
        })
    };
    if starts(PREPARE) {
        Some(Kind::Prepare)
    } else if starts(INTRO) {
        Some(Kind::Intro)
    } else if starts(OTHER) {
        Some(Kind::Other)
    } else {
        None
    }
}

/// At most `max` characters of `s`, cut after a whole word with `…` when
/// it was longer.
pub fn clip_words(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for word in s.split(' ') {
        let len = out.chars().count() + word.chars().count() + 1;
        if len > max.saturating_sub(1) {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    if out.is_empty() {
        // one word longer than `max`: cut it by characters
        out = s.chars().take(max.saturating_sub(1)).collect();
    }
    let out = out.trim_end_matches([',', ';', ':', ' ']);
    format!("{out}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bracketed_sections() {
        let html = "<p>Updated July 23, 2026: We have updated the timeline.</p>\
            <p><b>[Introduction:]</b></p><p>We’re introducing a simpler view.</p>\
            <p>This message is associated with Microsoft 365 Roadmap ID 513275.</p>\
            <p><b>[When this will happen:]</b></p><p>GA: September 2026.</p>\
            <p><b>[What you can do to prepare:]</b></p><p>Tell your users.</p><p>Update training.</p>\
            <p><b>[Compliance considerations:]</b></p><p>None.</p>";
        let p = of_body(html);
        assert_eq!(p.summary, "We’re introducing a simpler view.");
        assert_eq!(p.prepare, "Tell your users. Update training.");
    }

    #[test]
    fn reads_bold_headings_and_the_lead_without_an_introduction() {
        let html = "<div>Windows is changing how updates install.</div>\
            <div><b>How this affects your organization:</b></div><div>Devices restart.</div>\
            <div><b>Action required/recommendations:</b> Review your policies.</div>\
            <div><b>Additional information:</b></div><div>See the docs.</div>";
        let p = of_body(html);
        assert_eq!(p.summary, "Windows is changing how updates install.");
        assert_eq!(p.prepare, "Review your policies.");
    }

    #[test]
    fn no_preparation_section_is_no_advice() {
        let p = of_body(
            "<p>Something changes in Teams.</p><p>[When this will happen:]</p><p>May 2026</p>",
        );
        assert_eq!(p.summary, "Something changes in Teams.");
        assert_eq!(p.prepare, "");
        assert!(!p.is_empty());
        assert!(of_body("").is_empty());
    }

    #[test]
    fn labels_inside_bracketed_sections_are_text() {
        let p = of_body(
            "<p>[Introduction:]</p><p>New sync rules.</p><p>Who is affected: admins.</p>\
             <p>[Action Required/Recommendations:]</p><p>Action Required: Only if you plan to use it.</p>\
             <p>Learn more: the docs.</p><p>[Compliance considerations:]</p><p>None.</p>",
        );
        assert_eq!(p.summary, "New sync rules. Who is affected: admins.");
        assert_eq!(
            p.prepare,
            "Action Required: Only if you plan to use it. Learn more: the docs."
        );
    }

    #[test]
    fn what_scripts_and_styles_hold_is_not_text() {
        let p = of_body(
            "<p>Hello.<script>alert('x')</script></p><style>p { color: red }</style>\
             <p>[Action required:]</p><p>Act.</p>",
        );
        assert_eq!(p.summary, "Hello.");
        assert_eq!(p.prepare, "Act.");
    }

    #[test]
    fn a_word_that_starts_like_a_heading_is_not_one() {
        assert_eq!(kind_of("Impactful news"), None);
        assert_eq!(kind_of("Impact on your organization"), Some(Kind::Other));
        assert_eq!(
            kind_of("[Action required / recommendations:]"),
            Some(Kind::Prepare)
        );
    }

    #[test]
    fn clips_at_a_word_and_never_inside_a_character() {
        let s = "Ünïcödé wörds ".repeat(40);
        let c = clip_words(&s, 50);
        assert!(c.chars().count() <= 50, "{c}");
        assert!(c.ends_with('…'));
        assert!(c.starts_with("Ünïcödé wörds"));
        let long = "x".repeat(400);
        assert_eq!(clip_words(&long, 10).chars().count(), 10);
        assert_eq!(clip_words("short", 10), "short");
    }
}
