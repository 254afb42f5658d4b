//! The Microsoft 365 roadmap's v1 JSON (or a saved copy of it), as
//! `changedesk roadmap import` and the roadmap sync read it; each item read
//! is written in the feed's shape and must read back the same.
#![no_main]
use changedesk_core::roadmap::{parse_roadmap_json, roadmap_changes, to_roadmap_json};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(feed) = parse_roadmap_json(text) else {
        return;
    };
    for i in &feed.items {
        let _ = (i.release_month(), i.preview_month(), i.release_month().and_then(|m| m.start()));
    }
    if let [a, b, ..] = feed.items.as_slice() {
        let _ = roadmap_changes(a, b);
    }
    let back = parse_roadmap_json(&to_roadmap_json(&feed.items)).expect("written reads back");
    assert_eq!(back.items, feed.items);
});
