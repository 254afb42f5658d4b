//! The values people type on the command line and in API fields: instants,
//! durations, database URLs, roles, scopes, enums and owner targets.
#![no_main]
use changedesk_core::access::Role;
use changedesk_core::config::DatabaseUrl;
use changedesk_core::duration::parse_duration;
use changedesk_core::rules::{OwnerTarget, Priority};
use changedesk_core::timestamp::Timestamp;
use changedesk_core::triage::{Decision, Scope, State};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = Timestamp::parse(s) {
        let _ = t.to_canonical();
    }
    let _ = parse_duration(s);
    if let Ok(u) = DatabaseUrl::parse(s) {
        let _ = u.redacted();
    }
    let _ = s.parse::<Role>();
    let _ = s.parse::<Scope>();
    let _ = s.parse::<State>();
    let _ = s.parse::<Decision>();
    let _ = s.parse::<Priority>();
    let _ = OwnerTarget::parse(s);
    let _ = changedesk_core::text::escape_controls(s, true);
    let _ = changedesk_core::text::clip_chars(s, 40);
});
