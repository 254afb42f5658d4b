//! A listing of service health overviews, as import and sync read it.
#![no_main]
use changedesk_core::graph::{HealthOverview, listing_document, listing_items, parse_listing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = listing_document(data) else {
        return;
    };
    let Ok(items) = listing_items(&doc) else {
        return;
    };
    let _ = parse_listing(items, HealthOverview::from_graph);
});
