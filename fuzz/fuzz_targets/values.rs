//! The values people type on the command line and in API fields: instants,
//! durations, database URLs, roles, scopes, enums, owner targets, and
//! notification settings (channel kinds, events, quiet hours, digests,
//! mailboxes), and what people type into communications.
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
    // notification settings: channel kinds, events, times of day, quiet
    // hours, digests and mailboxes as people type them
    let _ = s.parse::<changedesk_core::notify::ChannelKind>();
    let _ = s.parse::<changedesk_core::notify::EventKind>();
    let _ = changedesk_core::notify::delivery::TimeOfDay::parse(s);
    let _ = changedesk_core::config::looks_like_mailbox(s);
    // change control: whom a ticket is for, a connector's follow mapping
    // (CLI flags, API fields), a stored progress and kind
    use changedesk_core::change_control as cc;
    if let Ok(scope) = cc::TicketScope::parse(s) {
        assert_eq!(cc::TicketScope::parse(&scope.as_text()).ok(), Some(scope.clone()));
        let _ = cc::correlation_id(s, &scope);
    }
    if let Ok(action) = cc::FollowAction::parse(s) {
        assert_eq!(cc::FollowAction::parse(&action.as_text()), Ok(action));
    }
    let _ = cc::TicketProgress::parse(s);
    let _ = cc::TicketKind::parse(s);
    let (a, b) = s.split_at(s.char_indices().nth(s.chars().count() / 2).map_or(s.len(), |(i, _)| i));
    let at = Timestamp::from_unix(i64::from(data.len() as u32) * 7_919).unwrap_or(Timestamp::from_unix(0).unwrap());
    let quiet = changedesk_core::notify::QuietHours {
        from: a.to_string(),
        to: b.to_string(),
        time_zone: s.to_string(),
        urgent: None,
    };
    let _ = quiet.validate();
    let _ = quiet.release_at(at);
    let quiet = changedesk_core::notify::QuietHours {
        from: "22:00".into(),
        to: "07:00".into(),
        time_zone: s.to_string(),
        urgent: None,
    };
    let _ = quiet.release_at(at);
    let digest = changedesk_core::notify::Digest {
        weekday: Some(a.to_string()),
        at: b.to_string(),
        time_zone: s.to_string(),
    };
    let _ = digest.validate();
    let _ = digest.next_after(at);
    let _ = changedesk_core::text::escape_controls(s, true);
    let _ = changedesk_core::text::clip_chars(s, 40);
    // communications: who acknowledges (typed on a page anyone with the
    // link may open), a text and audience as people write them
    use changedesk_core::comms;
    if let Ok(k) = comms::acknowledger(s) {
        assert!(!k.is_empty() && k.chars().count() <= comms::MAX_ACKNOWLEDGER_CHARS);
    }
    if let Ok(t) = comms::CommsText::checked(a, b) {
        assert!(!t.subject.is_empty() && t.subject.chars().count() <= comms::MAX_SUBJECT_CHARS);
        let _ = t.paragraphs();
    }
    let _ = comms::Audience::checked(s, None);
    let _ = s.parse::<comms::CommsState>();
    let _ = s.parse::<changedesk_core::triage::PilotRecommendation>();
});
