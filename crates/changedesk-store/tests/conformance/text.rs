//! Control characters in outside text: both databases store the same thing.
//! NUL (which PostgreSQL's `text` cannot hold) becomes U+FFFD everywhere;
//! every other character is kept as sent. A post holding one never stops
//! the rest of its tenant's listing.

use changedesk_core::graph::{HealthOverview, Incident, Message};
use changedesk_store::{Store, TenantBatch};
use serde_json::{Value, json};

use crate::conformance;
use crate::fixtures::*;

/// The characters tried, each in the middle of every text field (ends are
/// trimmed by Graph's parsing for some fields, and U+2028 is white space).
const CHARS: [char; 5] = ['\u{0}', '\u{1}', '\u{1b}', '\u{7f}', '\u{2028}'];

/// What the archive keeps of `c`.
fn kept(c: char) -> char {
    if c == '\u{0}' { '\u{FFFD}' } else { c }
}

fn post_with(n: usize, c: char) -> Value {
    json!({
        "id": format!("MC{n}{c}x"),
        "title": format!("Title {c} of {n}"),
        "category": format!("plan{c}ForChange"),
        "severity": format!("hi{c}gh"),
        "services": [format!("Microsoft{c}Teams"), "Exchange Online"],
        "tags": [format!("User{c}impact")],
        "isMajorChange": true,
        "startDateTime": "2026-01-05T10:00:00Z",
        "lastModifiedDateTime": "2026-02-01T00:00:00Z",
        "details": [{"name": format!("Sum{c}mary"), "value": format!("Summary{c}{n}")},
                    {"name": "FeatureStatusJson", "value": format!("{{\"x\":\"a{c}b\"}}")}],
        "body": {"contentType": "html", "content": format!("<p>Body{c}{n}</p>")}
    })
}

fn incident_with(n: usize, c: char) -> Value {
    json!({
        "id": format!("EX{n}{c}x"), "title": format!("Users {c} can't"), "impactDescription": format!("Im{c}pact"),
        "classification": format!("inci{c}dent"), "origin": "microsoft", "status": format!("service{c}Degradation"),
        "service": format!("Exchange{c}Online"), "feature": format!("Sign{c}in"), "featureGroup": format!("Ser{c}vice"),
        "isResolved": false, "startDateTime": "2026-03-01T10:00:00Z", "lastModifiedDateTime": "2026-03-01T11:00:00Z",
        "details": [{"name": format!("N{c}ame"), "value": format!("V{c}alue")}],
        "posts": [{"createdDateTime": "2026-03-01T10:30:00Z", "postType": format!("reg{c}ular",),
                   "description": {"contentType": "html", "content": format!("Title: out{c}age")}}]
    })
}

fn health_with(c: char) -> Value {
    json!({"id": format!("Exchange{c}Online"), "service": format!("Exchange {c} Online"),
           "status": format!("service{c}Operational")})
}

/// A JSON value with `from` replaced by `to` in every string.
fn replace(v: &Value, from: char, to: char) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace(from, &to.to_string())),
        Value::Array(a) => Value::Array(a.iter().map(|v| replace(v, from, to)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), replace(v, from, to)))
                .collect(),
        ),
        v => v.clone(),
    }
}

/// One listing per kind: a post, an incident and a health overview holding
/// `c` in every field, plus ordinary ones.
struct Listing {
    messages: Vec<Message>,
    incidents: Vec<Incident>,
    health: Vec<HealthOverview>,
}

fn listing(c: char) -> Listing {
    Listing {
        messages: vec![
            post("MC-before", "2026-02-01T00:00:00Z"),
            parse(&post_with(1, c)),
            post("MC-after", "2026-02-01T00:00:00Z"),
        ],
        incidents: vec![
            Incident::from_graph(&incident_with(1, c), 0).unwrap(),
            incident("EX-plain", "serviceDegradation", "2026-03-01T11:00:00Z", 1),
        ],
        health: vec![
            HealthOverview::from_graph(&health_with(c), 0).unwrap(),
            health("SharePoint", "serviceOperational"),
        ],
    }
}

async fn check_stored(store: &Store, tenant: &str, c: char) {
    let k = kept(c);
    // what the archive must hold: the same input with `c` as kept
    let want_post = parse(&replace(&post_with(1, c), c, k));
    let got = store
        .get_message(&want_post.content.id)
        .await
        .unwrap_or_else(|e| panic!("{c:?}: the post is stored under its id as kept: {e}"));
    assert_eq!(got.content, want_post.content, "{c:?}");
    let link = got.tenants.iter().find(|t| t.name == tenant).unwrap();
    assert_eq!(link.details, want_post.view.details, "{c:?}");
    // the body's text is made from the stored HTML (it drops controls)
    assert!(!got.body_text.contains('\0'), "{c:?}: {:?}", got.body_text);
    for other in ["MC-before", "MC-after"] {
        store.get_message(other).await.unwrap();
    }
    let revision = store
        .message_revision(&want_post.content.id, 1)
        .await
        .unwrap();
    assert_eq!(revision.content, want_post.content, "{c:?}");

    let want_incident = Incident::from_graph(&replace(&incident_with(1, c), c, k), 0).unwrap();
    let got = store.get_incident(&want_incident.content.id).await.unwrap();
    assert_eq!(got.content, want_incident.content, "{c:?}");
    assert_eq!(got.posts, want_incident.posts, "{c:?}");
    let link = got.tenants.iter().find(|t| t.name == tenant).unwrap();
    assert_eq!(link.details, want_incident.view.details, "{c:?}");
    store.get_incident("EX-plain").await.unwrap();

    let want_health = HealthOverview::from_graph(&replace(&health_with(c), c, k), 0).unwrap();
    let rows = store.health(Some(tenant)).await.unwrap();
    assert_eq!(rows.len(), 2, "{c:?}: {rows:?}");
    let row = rows
        .iter()
        .find(|r| r.service_id == want_health.service_id)
        .unwrap_or_else(|| panic!("{c:?}: {rows:?}"));
    assert_eq!(row.service, want_health.service);
    assert_eq!(row.status, want_health.status.as_str());
}

conformance!(
    control_characters_are_stored_alike_and_nul_as_replacement_character,
    |store: Store| async move {
        for (i, c) in CHARS.into_iter().enumerate() {
            // a sync's path: one tenant's three listings in one transaction,
            // digests worked out beforehand
            let sync_tenant = format!("sync-{i}");
            let l = listing(c);
            let digests = store.message_digests(&l.messages);
            let issue_digests = store.incident_digests(&l.incidents);
            let now = "2026-03-02T00:00:00Z";
            let batch = TenantBatch {
                messages: Some((&l.messages, opts(now))),
                issues: Some((&l.incidents, opts(now))),
                health: Some((&l.health, opts(now))),
                at: at(now),
                record: Some(Some(format!("Graph said: bad{c}thing"))),
                digests: Some(&digests),
                issue_digests: Some(&issue_digests),
            };
            let out = store
                .import_batches(&[(&sync_tenant, &batch)])
                .await
                .unwrap();
            let summary = out[0]
                .as_ref()
                .unwrap_or_else(|e| panic!("{c:?}: the tenant's sync failed: {e}"));
            assert_eq!(summary.messages.as_ref().unwrap().items, 3, "{c:?}");
            check_stored(&store, &sync_tenant, c).await;
            let t = store.tenant(&sync_tenant).await.unwrap().unwrap();
            assert_eq!(
                t.last_sync_error.as_deref(),
                Some(format!("Graph said: bad{}thing", kept(c)).as_str())
            );
            // the next sync of the same listing changes nothing: the digest
            // is of what was stored
            let again = store.import_batch(&sync_tenant, &batch).await.unwrap();
            let m = again.messages.unwrap();
            assert_eq!((m.new, m.updated, m.stale), (0, 0, 0), "{c:?}");
            let inc = again.issues.unwrap();
            assert_eq!((inc.new, inc.updated), (0, 0), "{c:?}");

            // an import's path: each kind on its own
            let import_tenant = format!("import-{i}");
            let m = store
                .import_messages(&import_tenant, &l.messages, &opts(now))
                .await
                .unwrap();
            assert_eq!((m.new, m.updated, m.linked), (0, 0, 3), "{c:?}");
            let inc = store
                .import_incidents(&import_tenant, &l.incidents, &opts(now))
                .await
                .unwrap();
            assert_eq!((inc.new, inc.updated, inc.linked), (0, 0, 2), "{c:?}");
            store
                .import_health(&import_tenant, &l.health, &opts(now))
                .await
                .unwrap();
            check_stored(&store, &import_tenant, c).await;
        }
        // the archive holds no NUL anywhere a reader looks
        let page = store.export_messages_page(None, 1000).await.unwrap();
        let text = serde_json::to_string(&page).unwrap();
        assert!(!text.contains("\\u0000"), "{text}");
        assert!(text.contains("\\u001b") && text.contains('\u{2028}'));
    }
);
