//! Small hand-made posts and incidents in Graph's wire shape.

use changedesk_core::Timestamp;
use changedesk_core::graph::{HealthOverview, Incident, Message};
use changedesk_store::ImportOptions;
use serde_json::{Value, json};

pub fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("timestamp")
}

pub fn opts(now: &str) -> ImportOptions {
    ImportOptions {
        complete: true,
        now: at(now),
        source: "test".into(),
        rejected: 0,
    }
}

pub fn partial(now: &str) -> ImportOptions {
    ImportOptions {
        complete: false,
        ..opts(now)
    }
}

pub fn post_json(id: &str, last_modified: &str) -> Value {
    json!({
        "startDateTime": "2026-01-05T10:00:00Z",
        "endDateTime": "2026-12-31T08:00:00Z",
        "lastModifiedDateTime": last_modified,
        "title": format!("Microsoft Teams: feature {id}"),
        "id": id,
        "category": "planForChange",
        "severity": "normal",
        "tags": ["User impact", "New feature"],
        "isMajorChange": false,
        "actionRequiredByDateTime": null,
        "services": ["Microsoft Teams"],
        "hasAttachments": false,
        "viewPoint": null,
        "details": [{"name": "Summary", "value": format!("Summary of {id}")}],
        "body": {"contentType": "html", "content": format!("<p>[When this will happen:]</p><p>Rollout of {id} begins in March 2026.</p>")}
    })
}

pub fn parse(v: &Value) -> Message {
    Message::from_graph(v, 0).expect("fixture parses")
}

pub fn post(id: &str, last_modified: &str) -> Message {
    parse(&post_json(id, last_modified))
}

pub fn posts(ids: &[&str]) -> Vec<Message> {
    ids.iter()
        .map(|id| post(id, "2026-01-05T10:00:00Z"))
        .collect()
}

pub fn with(mut v: Value, key: &str, value: Value) -> Value {
    v[key] = value;
    v
}

pub fn incident_json(id: &str, status: &str, last_modified: &str, posts: usize) -> Value {
    let posts: Vec<Value> = (0..posts)
        .map(|i| json!({
            "createdDateTime": format!("2026-03-01T1{i}:00:00Z"),
            "postType": "regular",
            "description": {"contentType": "html", "content": format!("Title: outage<br>Current status: update {i}")}
        }))
        .collect();
    json!({
        "id": id, "title": format!("Users can't reach {id}"), "impactDescription": "Users may be unable to sign in",
        "classification": "incident", "origin": "microsoft", "status": status, "service": "Exchange Online",
        "feature": "Sign-in", "featureGroup": "Service", "isResolved": status == "serviceRestored",
        "startDateTime": "2026-03-01T10:00:00Z", "endDateTime": null, "lastModifiedDateTime": last_modified,
        "details": [], "posts": posts
    })
}

pub fn incident(id: &str, status: &str, last_modified: &str, posts: usize) -> Incident {
    Incident::from_graph(&incident_json(id, status, last_modified, posts), 0)
        .expect("fixture parses")
}

pub fn health(service_id: &str, status: &str) -> HealthOverview {
    HealthOverview::from_graph(
        &json!({"id": service_id, "service": format!("{service_id} service"), "status": status}),
        0,
    )
    .expect("fixture parses")
}
