//! What notification channels read from outside: the answers of Teams
//! Workflows and Slack (status, `Retry-After`, a body that may be anything),
//! recipients' addresses as people type them, and message templates'
//! rendering of any event payload (a stored event is JSON that a template
//! must render without panicking, and whose Teams and Slack bodies the
//! size checks read).
#![no_main]
use changedesk_notify::render::{Entry, MessageContext, Templates};
use changedesk_notify::{HttpReply, slack, teams};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let status = u16::from_le_bytes([
        data.first().copied().unwrap_or(0),
        data.get(1).copied().unwrap_or(0),
    ]);
    let reply = HttpReply {
        target: "https://example.invalid".into(),
        status,
        retry_after: None,
        body_text: s.to_string(),
    };
    let _ = teams::classify(&reply);
    let _ = slack::classify(&reply);
    let _ = teams::check(data);
    let _ = slack::check(data);
    let _ = slack::escape(s);
    let _ = changedesk_notify::email::parse_address(s);
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(s) {
        thread_local! {
            static TEMPLATES: Templates = Templates::builtin();
        }
        let ctx = MessageContext {
            entries: vec![Entry::from_payload(&v)],
            channel: "fuzz".into(),
            ..Default::default()
        };
        TEMPLATES.with(|t| {
            let _ = t.email(&ctx);
            if let Ok(card) = t.teams_card(&ctx) {
                let _ = teams::check(teams::message(card).to_string().as_bytes());
            }
            if let Ok(m) = t.slack_message(&ctx) {
                let _ = slack::check(m.to_string().as_bytes());
            }
        });
    }
});
