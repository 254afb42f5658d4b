//! A listing of Service Health issues, as import and sync read it.
#![no_main]
use changedesk_core::graph::{Incident, listing_items, parse_listing};
use changedesk_core::{diff, text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = text::decode_file_text(data) else {
        return;
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&s) else {
        return;
    };
    let Ok(items) = listing_items(&doc) else {
        return;
    };
    let listing = parse_listing(items, Incident::from_graph);
    for pair in listing.items.windows(2) {
        if let [a, b] = pair {
            let _ = diff::incident_changes(&a.content, &b.content);
        }
    }
});
