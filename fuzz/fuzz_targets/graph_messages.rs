//! A file or Graph page of Message Center posts, as `changedesk import` and
//! `sync` read it: bytes → text (UTF-8/UTF-16) → JSON → listing → each post,
//! then everything derived from a post's `details` and `body`; and the page
//! read as a membership listing.
#![no_main]
use changedesk_core::graph::{
    Message, detect_kind, listing_document, listing_items, parse_listing, parse_members,
};
use changedesk_core::{diff, rules, sanitize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = listing_document(data) else {
        return;
    };
    let Ok(items) = listing_items(&doc) else {
        return;
    };
    // the same page read as a membership listing ($select=id,lastModifiedDateTime)
    let texts: Vec<String> = items.iter().map(|v| v.to_string()).collect();
    let _ = parse_members(texts.iter().map(String::as_str));
    let _ = detect_kind(items);
    let listing = parse_listing(items, Message::from_graph);
    for m in &listing.items {
        let _ = m.content.display_title();
        let _ = m.view.summary();
        let _ = m.view.roadmap_ids();
        let _ = m.view.platforms();
        let _ = m.view.links();
        if let Ok(entries) = m.view.rollout() {
            let _ = rules::rollout_statuses(&entries);
        }
        let body = diff::body_text(&m.content.body_html);
        let _ = sanitize::body(&m.content.body_html);
        let _ = diff::message_as_text(&m.content);
        let _ = rules::PostFacts::new(&m.content, &m.view, &body);
        let _ = m.to_graph();
    }
});
