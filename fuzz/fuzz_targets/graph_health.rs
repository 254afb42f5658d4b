//! A listing of service health overviews, as import and sync read it.
#![no_main]
use changedesk_core::graph::{HealthOverview, listing_items, parse_listing};
use changedesk_core::text;
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
    let _ = parse_listing(items, HealthOverview::from_graph);
});
