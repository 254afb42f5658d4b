//! A post body (any text, HTML or not) and, on its first line, the reference
//! date: the timeline read from it, with its invariants (every range runs
//! forward, every text is cut to its bound by characters), and the preview
//! read from it (each part within its bound).
#![no_main]
use changedesk_core::Timestamp;
use changedesk_core::timeline::{self, DateRange, MAX_TEXT_CHARS};
use libfuzzer_sys::fuzz_target;

fn forward(r: &Option<DateRange>) {
    if let Some(r) = r {
        assert!(r.from <= r.to, "{r:?} runs backwards");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (first, body) = s.split_once('\n').unwrap_or(("", s));
    let reference = Timestamp::parse(&format!("{}T00:00:00Z", first.trim()))
        .or_else(|_| Timestamp::parse("2026-03-15T00:00:00Z"))
        .expect("a date")
        .as_datetime()
        .date();
    let t = timeline::extract(body, reference);
    for p in &t.phases {
        forward(&p.start);
        forward(&p.end);
        // the cut adds one `…`
        assert!(
            p.text.chars().count() <= MAX_TEXT_CHARS + 1,
            "text too long"
        );
    }
    for p in &t.previously {
        forward(&p.was);
    }
    let _ = serde_json::to_string(&t);
    forward(&timeline::parse_when(body, reference));
    let _ = timeline::plain_lines(body);
    let p = changedesk_core::preview::of_body(body);
    assert!(p.summary.chars().count() <= changedesk_core::preview::PART_CHARS);
    assert!(p.prepare.chars().count() <= changedesk_core::preview::PART_CHARS);
});
