//! Third-party HTML: the sanitiser and the plain-text conversion.
#![no_main]
use changedesk_core::{diff, sanitize};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = sanitize::body(s);
    let _ = diff::body_text(s);
});
