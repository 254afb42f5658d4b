//! Two versions of a post (their title and body from the input): the change
//! summary stored with each revision and the readable unified diff.
#![no_main]
use changedesk_core::diff;
use changedesk_core::graph::Message;
use libfuzzer_sys::fuzz_target;

fn version(title: &str, body: &str) -> Option<Message> {
    let v = serde_json::json!({
        "id": "MC100001", "title": title, "category": "planForChange",
        "lastModifiedDateTime": "2025-02-20T01:18:26.963Z",
        "body": {"contentType": "html", "content": body}
    });
    Message::from_graph(&v, 0).ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // old title \u{1} old body \u{1} new title \u{1} new body
    let mut parts = s.split('\u{1}');
    let (a_title, a_body) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (b_title, b_body) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (Some(a), Some(b)) = (version(a_title, a_body), version(b_title, b_body)) else {
        return;
    };
    for c in diff::message_changes(&a.content, &b.content) {
        let _ = c.describe();
    }
    let _ = diff::message_diff(&a.content, &b.content, "revision 1", "revision 2");
});
