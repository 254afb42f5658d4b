//! The one rule for the text the archive stores: U+0000 (NUL) is replaced by
//! U+FFFD (the replacement character), on both databases.
//!
//! PostgreSQL's `text` cannot hold NUL (the whole statement, and with it a
//! tenant's whole sync transaction, fails), SQLite's can. Both must store
//! the same thing, and a NUL has no meaning in a post, so the store replaces
//! it in every outside text before anything is digested or written: ids,
//! titles, bodies, categories, services, tags, details (and so the JSON of
//! details and revisions), incidents and their posts, health overviews, and
//! a sync's recorded error. Every other control character is kept as sent
//! (both databases store those alike); showing them safely is the job of
//! whatever renders them.
//!
//! What people send through the API never gets here with a NUL: the server
//! refuses it with 400 before any handler runs.

use std::borrow::Cow;

use changedesk_core::graph::{Detail, HealthOverview, Incident, IncidentPost, Message};

/// What U+0000 becomes.
pub const NUL_REPLACEMENT: char = '\u{FFFD}';

/// Whether `s` holds a NUL.
pub(crate) fn has_nul(s: &str) -> bool {
    s.as_bytes().contains(&0)
}

/// `s` with each NUL replaced by [`NUL_REPLACEMENT`] (borrowed when it has
/// none, which is nearly always).
pub fn without_nul(s: &str) -> Cow<'_, str> {
    if has_nul(s) {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

fn fix(s: &mut String) {
    if has_nul(s) {
        *s = s.replace('\0', "\u{FFFD}");
    }
}

fn fix_all(v: &mut [String]) {
    v.iter_mut().for_each(fix);
}

fn fix_details(d: &mut [Detail]) {
    for d in d {
        fix(&mut d.name);
        fix(&mut d.value);
    }
}

/// An enum of Graph's with an `Unknown(text)` fallback: the unknown text is
/// cleaned by parsing the cleaned spelling again.
macro_rules! fix_enum {
    ($e:expr, $t:ty) => {
        if has_nul($e.as_str()) {
            $e = <$t>::parse(&without_nul($e.as_str()));
        }
    };
}

/// A value holding outside text that the store cleans before using it.
pub(crate) trait Clean: Clone {
    fn has_nul(&self) -> bool;
    fn clean(&mut self);
}

impl Clean for Message {
    fn has_nul(&self) -> bool {
        let c = &self.content;
        has_nul(&c.id)
            || has_nul(&c.title)
            || has_nul(c.category.as_str())
            || has_nul(c.severity.as_str())
            || c.services.iter().any(|s| has_nul(s))
            || c.tags.iter().any(|s| has_nul(s))
            || has_nul(&c.body_html)
            || details_have_nul(&self.view.details)
    }

    fn clean(&mut self) {
        use changedesk_core::graph::{Category, Severity};
        let c = &mut self.content;
        fix(&mut c.id);
        fix(&mut c.title);
        fix_enum!(c.category, Category);
        fix_enum!(c.severity, Severity);
        fix_all(&mut c.services);
        fix_all(&mut c.tags);
        fix(&mut c.body_html);
        fix_details(&mut self.view.details);
    }
}

fn details_have_nul(d: &[Detail]) -> bool {
    d.iter().any(|d| has_nul(&d.name) || has_nul(&d.value))
}

fn post_has_nul(p: &IncidentPost) -> bool {
    has_nul(&p.post_type) || has_nul(&p.description_html)
}

impl Clean for Incident {
    fn has_nul(&self) -> bool {
        let c = &self.content;
        has_nul(&c.id)
            || has_nul(&c.title)
            || has_nul(&c.service)
            || has_nul(&c.feature)
            || has_nul(&c.feature_group)
            || has_nul(c.classification.as_str())
            || has_nul(c.origin.as_str())
            || has_nul(c.status.as_str())
            || has_nul(&c.impact_description)
            || self.posts.iter().any(post_has_nul)
            || details_have_nul(&self.view.details)
    }

    fn clean(&mut self) {
        use changedesk_core::graph::{Classification, HealthStatus, Origin};
        let c = &mut self.content;
        fix(&mut c.id);
        fix(&mut c.title);
        fix(&mut c.service);
        fix(&mut c.feature);
        fix(&mut c.feature_group);
        fix_enum!(c.classification, Classification);
        fix_enum!(c.origin, Origin);
        fix_enum!(c.status, HealthStatus);
        fix(&mut c.impact_description);
        for p in &mut self.posts {
            fix(&mut p.post_type);
            fix(&mut p.description_html);
        }
        fix_details(&mut self.view.details);
    }
}

impl Clean for HealthOverview {
    fn has_nul(&self) -> bool {
        has_nul(&self.service_id) || has_nul(&self.service) || has_nul(self.status.as_str())
    }

    fn clean(&mut self) {
        use changedesk_core::graph::HealthStatus;
        fix(&mut self.service_id);
        fix(&mut self.service);
        fix_enum!(self.status, HealthStatus);
    }
}

/// `items` cleaned: borrowed when none holds a NUL, else a cleaned copy.
pub(crate) fn cleaned<T: Clean>(items: &[T]) -> Cow<'_, [T]> {
    if items.iter().any(Clean::has_nul) {
        let mut owned = items.to_vec();
        owned.iter_mut().for_each(Clean::clean);
        Cow::Owned(owned)
    } else {
        Cow::Borrowed(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_becomes_the_replacement_character_and_nothing_else_changes() {
        assert_eq!(without_nul("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
        for kept in ["", "plain", "\u{1}\u{1b}[31m\u{7f}\u{2028}", "日本語 – x"] {
            assert!(matches!(without_nul(kept), Cow::Borrowed(s) if s == kept));
        }
    }
}
