//! What the Jira connector reads from a site: any answer body (a search
//! page, an issue, an error, HTML) gives issues or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((issues, _last)) = changedesk_connectors::jira::parse_issues(data) {
        for i in issues {
            let _ = i.category;
        }
    }
});
