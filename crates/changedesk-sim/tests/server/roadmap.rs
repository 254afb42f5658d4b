//! The public roadmap feed as the simulator serves it: every roadmap id a
//! post names is an item (and some are not announced yet), in the feed's
//! v1 shape; no `User-Agent` is refused; faults and items put in place;
//! the request log; advancing the corpus moves the items.

use std::collections::HashSet;

use changedesk_sim::{ROADMAP_PATH, RoadmapRequest};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{client, config, start};

fn roadmap_ids(messages: &[Value]) -> HashSet<u64> {
    let mut out = HashSet::new();
    for m in messages {
        for d in m["details"].as_array().into_iter().flatten() {
            if d["name"] == "RoadmapIds" {
                for id in d["value"].as_str().unwrap_or("").split(',') {
                    out.insert(id.trim().parse::<u64>().unwrap());
                }
            }
        }
    }
    out
}

#[tokio::test]
async fn the_roadmap_links_to_the_posts_and_is_served_as_the_feed_is() {
    let sim = start(config()).await;
    let url = format!("{}{ROADMAP_PATH}", sim.base_url().trim_end_matches('/'));
    let announced = roadmap_ids(&sim.corpus().messages);
    assert!(!announced.is_empty());
    let r = client()
        .get(&url)
        .header("User-Agent", "Mozilla/5.0 (test)")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("etag").is_none() && r.headers().get("last-modified").is_none());
    let items: Vec<Value> = r.json().await.unwrap();
    let ids: HashSet<u64> = items.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), items.len(), "each id once");
    assert!(
        announced.is_subset(&ids),
        "every id a post names is an item"
    );
    let unannounced = ids.difference(&announced).count();
    assert!(
        unannounced >= announced.len() / 4,
        "{unannounced} not announced yet"
    );
    for i in &items {
        for key in [
            "title",
            "description",
            "status",
            "publicDisclosureAvailabilityDate",
            "created",
            "modified",
        ] {
            assert!(i[key].is_string(), "{key}: {i}");
        }
        assert!(
            !i["modified"].as_str().unwrap().ends_with('Z'),
            "no offset, as the feed writes"
        );
        assert!(
            i["tagsContainer"]["products"]
                .as_array()
                .is_some_and(|p| !p.is_empty()),
            "{i}"
        );
        let status = i["status"].as_str().unwrap();
        assert!(
            ["In development", "Rolling out", "Launched", "Cancelled"].contains(&status),
            "{status}"
        );
        if !announced.contains(&i["id"].as_u64().unwrap()) {
            assert_eq!(status, "In development", "not announced yet: still to come");
        }
    }
    // no User-Agent: refused, as some hosts refuse unknown clients
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let log: Vec<RoadmapRequest> = sim.roadmap_requests();
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![200, 403]
    );
    assert_eq!(log[0].user_agent.as_deref(), Some("Mozilla/5.0 (test)"));
    // the same corpus, the same roadmap; a corpus advanced in time moves items on
    assert_eq!(sim.roadmap_items(), items);
    sim.advance(120, 9);
    let later = sim.roadmap_items();
    assert_ne!(later, items);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_roadmaps_control_puts_items_and_faults_in_place() {
    let sim = start(config()).await;
    let base = sim.base_url().trim_end_matches('/').to_string();
    let url = format!("{base}{ROADMAP_PATH}");
    let get = || client().get(&url).header("User-Agent", "test").send();
    let r = client()
        .put(format!("{base}/_sim/roadmap"))
        .json(&json!([{"id": 1, "title": "One"}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get().await.unwrap().json::<Value>().await.unwrap(),
        json!([{"id": 1, "title": "One"}])
    );
    let r = client()
        .put(format!("{base}/_sim/roadmap"))
        .json(&json!({"id": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "an array, not an object"
    );
    let r = client()
        .put(format!("{base}/_sim/roadmap/fault"))
        .json(&json!({"status": 503, "count": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for _ in 0..2 {
        let r = get().await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.text().await.unwrap().contains("<html>"));
    }
    assert_eq!(
        get().await.unwrap().status(),
        StatusCode::OK,
        "two faults, then served again"
    );
    let r = client()
        .put(format!("{base}/_sim/roadmap/fault"))
        .json(&json!({"status": 200}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    client()
        .delete(format!("{base}/_sim/roadmap"))
        .send()
        .await
        .unwrap();
    assert!(
        get()
            .await
            .unwrap()
            .json::<Vec<Value>>()
            .await
            .unwrap()
            .len()
            > 1,
        "the corpus's again"
    );
    let log: Vec<Value> = client()
        .get(format!("{base}/_sim/roadmap/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 5);
    client()
        .delete(format!("{base}/_sim/roadmap/requests"))
        .send()
        .await
        .unwrap();
    assert!(sim.roadmap_requests().is_empty());
    sim.shutdown().await;
}
