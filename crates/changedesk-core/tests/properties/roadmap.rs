//! The roadmap's feed: the real dump read whole, no input makes the reader
//! panic, and what is written in the feed's shape reads back the same.

use changedesk_core::roadmap::{
    RoadmapItem, RoadmapMonth, RoadmapStatus, parse_roadmap_json, roadmap_changes, to_roadmap_json,
};
use proptest::prelude::*;

/// The real roadmap of February 2026 (`../shared/data/roadmap-data.json`,
/// 1,926 items): every item read, every status known, every release month
/// read as one.
#[test]
fn the_real_roadmap_is_read_whole() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/roadmap-data.json"
    );
    let Ok(text) = std::fs::read_to_string(path) else {
        println!("roadmap: {path} not found, nothing checked");
        return;
    };
    let feed = parse_roadmap_json(&text).expect("the dump reads");
    assert!(
        feed.skipped.is_empty(),
        "{:?}",
        &feed.skipped[..feed.skipped.len().min(5)]
    );
    assert_eq!(feed.items.len(), 1926);
    let count = |s: RoadmapStatus| feed.items.iter().filter(|i| i.status == s).count();
    assert_eq!(
        (
            count(RoadmapStatus::Launched),
            count(RoadmapStatus::InDevelopment),
            count(RoadmapStatus::RollingOut),
            count(RoadmapStatus::Cancelled)
        ),
        (1013, 709, 201, 3)
    );
    assert!(
        feed.items.iter().all(|i| i.release_month().is_some()),
        "every release month reads"
    );
    let previews = feed.items.iter().filter(|i| i.preview.is_some()).count();
    assert_eq!(previews, 419);
    assert!(
        feed.items
            .iter()
            .all(|i| i.preview.is_none() || i.preview_month().is_some())
    );
    assert!(
        feed.items
            .iter()
            .all(|i| i.modified.is_some() && !i.products.is_empty())
    );
    // written in the feed's shape and read back: the same items
    let back = parse_roadmap_json(&to_roadmap_json(&feed.items)).unwrap();
    assert_eq!(back.items, feed.items);
    assert!(feed.items.iter().all(|i| roadmap_changes(i, i).is_empty()));
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[ -~]{0,12}", "\\PC{0,12}"]
}

fn item() -> impl Strategy<Value = RoadmapItem> {
    let months = prop_oneof![
        Just(None),
        (1u8..=12, 2020i32..2030)
            .prop_map(|(m, y)| Some(RoadmapMonth { year: y, month: m }.to_string())),
        "\\PC{1,10}".prop_map(Some),
    ];
    (
        any::<u64>(),
        "\\PC{1,20}",
        text(),
        prop_oneof![
            Just(RoadmapStatus::InDevelopment),
            Just(RoadmapStatus::RollingOut),
            Just(RoadmapStatus::Launched),
            Just(RoadmapStatus::Cancelled),
            Just(RoadmapStatus::Postponed),
        ],
        months.clone(),
        months,
        prop::collection::vec("[A-Za-z ]{1,10}", 0..3),
    )
        .prop_map(
            |(id, title, description, status, release, preview, products)| RoadmapItem {
                id,
                title: title.trim().to_string(),
                description: description.trim().to_string(),
                more_info: None,
                status,
                release: release
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty()),
                preview: preview
                    .map(|r| r.trim().to_string())
                    .filter(|r| !r.is_empty()),
                created: None,
                modified: None,
                products: {
                    let mut seen: Vec<String> = Vec::new();
                    for p in products.into_iter().map(|p| p.trim().to_string()) {
                        if !p.is_empty() && !seen.contains(&p) {
                            seen.push(p);
                        }
                    }
                    seen
                },
                platforms: vec![],
                cloud_instances: vec![],
                release_phases: vec![],
            },
        )
        .prop_filter("a title", |i| !i.title.is_empty())
}

proptest! {
    #[test]
    fn no_text_makes_the_roadmap_reader_panic(s in "\\PC{0,200}") {
        let _ = parse_roadmap_json(&s);
        let _ = RoadmapMonth::parse(&s);
        let _ = RoadmapStatus::parse(&s);
    }

    #[test]
    fn items_written_in_the_feeds_shape_read_back(items in prop::collection::vec(item(), 0..6)) {
        let mut unique: Vec<RoadmapItem> = Vec::new();
        for i in items {
            if !unique.iter().any(|u| u.id == i.id) {
                unique.push(i);
            }
        }
        let back = parse_roadmap_json(&to_roadmap_json(&unique)).unwrap();
        prop_assert!(back.skipped.is_empty());
        prop_assert_eq!(back.items, unique);
    }
}
