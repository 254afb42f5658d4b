//! The search box language: parsed, then rendered for both databases.
#![no_main]
use changedesk_core::search::{self, Query};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let q = Query::parse(s);
    let _ = search::to_fts5(&q);
    let _ = search::fts5_excluded(&q);
    let _ = search::to_tsquery(&q);
    let _ = q.to_string();
    let _ = q.fields().count();
});
