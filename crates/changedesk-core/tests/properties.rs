//! Property tests: no input makes a parser panic, and what changedesk writes
//! in Graph's shape reads back the same.

use changedesk_core::Timestamp;
use changedesk_core::config;
use changedesk_core::diff::{message_changes, message_diff};
use changedesk_core::duration::parse_duration;
use changedesk_core::graph::{
    Category, HealthOverview, Incident, Message, MessageContent, Severity, TenantView,
    decode_feature_status, detect_kind, listing_items,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Property names Graph uses, in several casings, plus noise.
const KEYS: &[&str] = &[
    "id",
    "Id",
    "title",
    "startDateTime",
    "endDateTime",
    "lastModifiedDateTime",
    "LastModifiedDateTime",
    "category",
    "severity",
    "tags",
    "services",
    "isMajorChange",
    "actionRequiredByDateTime",
    "hasAttachments",
    "viewPoint",
    "details",
    "body",
    "content",
    "contentType",
    "name",
    "value",
    "classification",
    "origin",
    "status",
    "service",
    "feature",
    "featureGroup",
    "isResolved",
    "impactDescription",
    "posts",
    "createdDateTime",
    "postType",
    "description",
    "highImpact",
    "RoadmapId",
    "Platform",
    "Status",
    "LastUpdateTime",
    "LatestRing",
    "x",
    "",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(String::from),
        1 => ".{0,12}",
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        ".{0,30}".prop_map(Value::String),
        proptest::sample::select(
            &[
                "MC1005517",
                "2025-02-14T01:18:26.963Z",
                "planForChange",
                "HIGH",
                "serviceRestored",
                "2025-13-45T99:99:99Z",
                "FeatureRolloutStatusInRollout",
                "{\"1\":[{\"Status\":5}]}"
            ][..]
        )
        .prop_map(|s| Value::String(s.to_string())),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner), 0..10)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

fn timestamp() -> impl Strategy<Value = Option<Timestamp>> {
    proptest::option::of((0i64..4_000_000_000, 0u32..1_000_000).prop_map(|(s, us)| {
        Timestamp::from_datetime(
            time::OffsetDateTime::from_unix_timestamp(s).unwrap()
                + time::Duration::microseconds(us as i64),
        )
    }))
}

fn words() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec("[A-Za-z][A-Za-z0-9 ]{0,15}[A-Za-z0-9]", 0..4).prop_map(|v| {
        let mut out: Vec<String> = Vec::new();
        for w in v {
            if !out.contains(&w) {
                out.push(w);
            }
        }
        out
    })
}

prop_compose! {
    fn message()(
        id in "MC[0-9]{6,7}",
        title in ".{0,80}",
        category in proptest::sample::select(vec![Category::PlanForChange, Category::StayInformed, Category::PreventOrFixIssue, Category::Unknown("newThing".into())]),
        severity in proptest::sample::select(vec![Severity::Normal, Severity::High, Severity::Critical]),
        services in words(),
        tags in words(),
        is_major in any::<bool>(),
        start in timestamp(), end in timestamp(), act_by in timestamp(), last_modified in timestamp(),
        body_html in ".{0,200}",
        details in proptest::collection::vec(("[A-Za-z]{1,12}", ".{0,40}"), 0..4),
    ) -> Message {
        Message {
            content: MessageContent { id, title, category, severity, services, tags, is_major, start, end, act_by, last_modified, body_html, has_attachments: false },
            view: TenantView { details: details.into_iter().map(|(name, value)| changedesk_core::graph::Detail { name, value }).collect() },
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_json_makes_the_graph_parsers_panic(v in json()) {
        let _ = Message::from_graph(&v, 0);
        let _ = Incident::from_graph(&v, 0);
        let _ = HealthOverview::from_graph(&v, 0);
        if let Ok(items) = listing_items(&v) {
            let _ = detect_kind(items);
        }
        if let Ok(m) = Message::from_graph(&v, 0) {
            let _ = m.view.rollout();
            let _ = m.view.roadmap_ids();
            let _ = m.content.digest();
        }
    }

    #[test]
    fn no_string_makes_the_small_parsers_panic(s in ".{0,64}") {
        let _ = Timestamp::parse(&s);
        let _ = parse_duration(&s);
        let _ = decode_feature_status(&s);
        let _ = Category::parse(&s);
        let _ = config::DatabaseUrl::parse(&s);
    }

    #[test]
    fn no_text_makes_config_check_panic(s in "(.|\n){0,200}") {
        let _ = config::check("x.toml", &s);
    }

    #[test]
    fn messages_round_trip_through_graph_shape(m in message()) {
        let back = Message::from_graph(&m.to_graph(), 0).unwrap();
        // titles and body are kept as sent; list items are trimmed on the way in
        prop_assert_eq!(back, m);
    }

    #[test]
    fn a_version_has_no_changes_against_itself_and_diffs_never_panic(a in message(), b in message()) {
        prop_assert!(message_changes(&a.content, &a.content).is_empty());
        let _ = message_diff(&a.content, &b.content, "a", "b");
        // a different title is always reported
        let mut retitled = a.content.clone();
        retitled.title.push_str(" (v2)");
        let fields: Vec<String> = message_changes(&a.content, &retitled).into_iter().map(|c| c.field).collect();
        prop_assert_eq!(fields, vec!["title".to_string()]);
    }

    #[test]
    fn canonical_timestamps_round_trip_and_sort(a in timestamp(), b in timestamp()) {
        if let (Some(a), Some(b)) = (a, b) {
            prop_assert_eq!(Timestamp::parse(&a.to_canonical()).unwrap(), a);
            prop_assert_eq!(a.cmp(&b), a.to_canonical().cmp(&b.to_canonical()));
        }
    }
}

// kept in a directory of its own: a file directly in tests/ would be another test binary
#[path = "properties/roadmap.rs"]
mod roadmap;
#[path = "properties/timeline_labels.rs"]
mod timeline_labels;
