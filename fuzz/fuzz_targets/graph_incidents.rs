//! A listing of Service Health issues, as import and sync read it.
#![no_main]
use changedesk_core::diff;
use changedesk_core::graph::{Incident, listing_document, listing_items, parse_listing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = listing_document(data) else {
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
