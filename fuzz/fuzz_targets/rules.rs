//! The rules language: a rule's `when`, compiled as `rules add` and the
//! configuration compile it, then evaluated on a real-shaped post for a
//! tenant (both evaluation levels) and explained.
#![no_main]
use changedesk_core::graph::Message;
use changedesk_core::rules::{ActionSpec, PostFacts, RuleSet, RuleSpec, TenantFacts};
use changedesk_core::{diff, timestamp::Timestamp};
use libfuzzer_sys::fuzz_target;

fn post() -> Message {
    let v = serde_json::json!({
        "id": "MC100001", "title": "(Updated) Microsoft Teams – new meeting recap",
        "category": "planForChange", "severity": "normal", "isMajorChange": true,
        "services": ["Microsoft Teams"], "tags": ["User impact", "New feature"],
        "startDateTime": "2025-02-14T01:17:13Z", "endDateTime": "2025-06-30T07:00:00Z",
        "actionRequiredByDateTime": "2025-04-01T00:00:00Z",
        "lastModifiedDateTime": "2025-02-20T01:18:26.963Z",
        "details": [{"name": "RoadmapIds", "value": "468868, 12"}, {"name": "Platforms", "value": "Web, Desktop"}],
        "body": {"contentType": "html", "content": "<p>[When this will happen:]</p><p>Rollout begins in <b>March</b> – 日本語.</p>"}
    });
    Message::from_graph(&v, 0).expect("the sample post parses")
}

fuzz_target!(|data: &[u8]| {
    let Ok(when) = std::str::from_utf8(data) else {
        return;
    };
    let spec = RuleSpec {
        name: "fuzz".into(),
        when: when.into(),
        then: ActionSpec::default(),
        enabled: true,
    };
    let Ok(set) = RuleSet::compile(&[spec]) else {
        return;
    };
    let m = post();
    let body = diff::body_text(&m.content.body_html);
    let facts = PostFacts::new(&m.content, &m.view, &body);
    let now = Timestamp::parse("2025-03-01T00:00:00Z").expect("a valid instant");
    let groups = vec!["emea".to_string()];
    let changed = vec!["title".to_string()];
    let tenant = TenantFacts {
        tenant: "contoso",
        groups: &groups,
        rollout: &[],
        is_new: false,
        is_updated: true,
        changed_fields: &changed,
    };
    let eval = set.for_post(&facts, now);
    let _ = eval.for_tenant(&tenant);
    let _ = set.explain(&facts, &tenant, now);
});
