//! The roadmap's feed read as written, bad items skipped with a reason, and
//! what changed between two reads.

use super::*;

/// The example item of the reference (`integrations.md` §9).
const ONE: &str = r#"[{"id":557256,"title":"Microsoft Copilot (Microsoft 365): Explain slide selection during PowerPoint Live",
  "description":"This feature enhances …","moreInfoLink":null,"publicDisclosureAvailabilityDate":"March CY2026",
  "publicPreviewDate":"","created":"2026-02-21T00:30:02","modified":"2026-02-21T00:30:02",
  "publicRoadmapStatus":"Include this month","status":"In development","locale":null,
  "tags":[{"tagName":"PowerPoint"},{"tagName":"General Availability"}],
  "tagsContainer":{"products":[{"tagName":"PowerPoint"}],"cloudInstances":[{"tagName":"Worldwide (Standard Multi-Tenant)"}],
                   "releasePhase":[{"tagName":"General Availability"}],"platforms":[{"tagName":"Desktop"}]}}]"#;

#[test]
fn the_feeds_item_is_read_field_by_field() {
    let feed = parse_roadmap_json(ONE).unwrap();
    assert!(feed.skipped.is_empty(), "{:?}", feed.skipped);
    let [i] = feed.items.as_slice() else {
        panic!("one item: {:?}", feed.items)
    };
    assert_eq!(i.id, 557_256);
    assert!(i.title.starts_with("Microsoft Copilot"));
    assert_eq!(i.description, "This feature enhances …");
    assert_eq!(i.more_info, None);
    assert_eq!(i.status, RoadmapStatus::InDevelopment);
    assert_eq!(i.release.as_deref(), Some("March CY2026"));
    assert_eq!(
        i.release_month(),
        Some(RoadmapMonth {
            year: 2026,
            month: 3
        })
    );
    assert_eq!(i.preview, None, "an empty month is none");
    assert_eq!(
        i.created.unwrap().to_canonical(),
        "2026-02-21T00:30:02.000000Z"
    );
    assert_eq!(i.products, vec!["PowerPoint"]);
    assert_eq!(i.platforms, vec!["Desktop"]);
    assert_eq!(i.cloud_instances, vec!["Worldwide (Standard Multi-Tenant)"]);
    assert_eq!(i.release_phases, vec!["General Availability"]);
    assert_eq!(
        i.link(),
        "https://www.microsoft.com/microsoft-365/roadmap?featureid=557256"
    );
}

#[test]
fn a_saved_copy_wrapped_in_an_object_is_read_too() {
    let wrapped = format!(r#"{{"metadata":{{"totalItems":1}},"items":{ONE}}}"#);
    assert_eq!(parse_roadmap_json(&wrapped).unwrap().items.len(), 1);
    let value = format!(r#"{{"Value":{ONE}}}"#);
    assert_eq!(parse_roadmap_json(&value).unwrap().items.len(), 1);
    for bad in ["", "{", "42", r#"{"items":{}}"#, r#"{"other":[]}"#, "null"] {
        assert!(parse_roadmap_json(bad).is_err(), "{bad:?}");
    }
    assert!(matches!(
        parse_roadmap_json("{"),
        Err(RoadmapError::NotJson(_))
    ));
    assert_eq!(parse_roadmap_json("{}"), Err(RoadmapError::NotAList));
}

#[test]
fn keys_in_any_case_and_ids_as_text_are_read() {
    let feed = parse_roadmap_json(
        r#"[{"ID":"12","Title":" A ","STATUS":"rollingOut","TagsContainer":{"Products":["Teams","Teams"]}}]"#,
    )
    .unwrap();
    let i = &feed.items[0];
    assert_eq!((i.id, i.title.as_str()), (12, "A"));
    assert_eq!(i.status, RoadmapStatus::RollingOut);
    assert_eq!(i.products, vec!["Teams"], "each tag once");
}

#[test]
fn bad_items_are_skipped_with_their_reason_and_the_rest_kept() {
    let feed = parse_roadmap_json(
        r#"[1, {"title":"no id"}, {"id":"x9","title":"t"}, {"id":7}, {"id":-3,"title":"t"},
            {"id":8,"title":"first"}, {"id":9,"title":"kept"}, {"id":8,"title":"second"}]"#,
    )
    .unwrap();
    let reasons: Vec<(usize, &str)> = feed
        .skipped
        .iter()
        .map(|s| (s.index, s.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (0, "not an object"),
            (1, "it has no id"),
            (2, "its id is not a number"),
            (3, "it has no title"),
            (4, "its id is not a number"),
            (7, "the same id again: the later item is kept"),
        ]
    );
    let kept: Vec<(u64, &str)> = feed
        .items
        .iter()
        .map(|i| (i.id, i.title.as_str()))
        .collect();
    assert_eq!(
        kept,
        vec![(8, "second"), (9, "kept")],
        "the later of the same id, in the first's place"
    );
}

#[test]
fn statuses_are_read_in_any_spelling_and_unknown_ones_kept() {
    for (text, want) in [
        ("In development", RoadmapStatus::InDevelopment),
        ("inDevelopment", RoadmapStatus::InDevelopment),
        ("ROLLING_OUT", RoadmapStatus::RollingOut),
        ("Launched", RoadmapStatus::Launched),
        ("canceled", RoadmapStatus::Cancelled),
        ("Postponed", RoadmapStatus::Postponed),
        (" Retired ", RoadmapStatus::Unknown("Retired".into())),
    ] {
        assert_eq!(RoadmapStatus::parse(text), want, "{text}");
    }
    assert!(RoadmapStatus::RollingOut.is_coming());
    assert!(!RoadmapStatus::Launched.is_coming());
    assert!(!RoadmapStatus::Unknown("x".into()).is_coming());
    // the text written is read back
    for s in [RoadmapStatus::InDevelopment, RoadmapStatus::Postponed] {
        assert_eq!(RoadmapStatus::parse(s.as_str()), s);
    }
}

#[test]
fn months_are_read_in_the_feeds_shapes_and_others_left_as_text() {
    let m = |y, m| Some(RoadmapMonth { year: y, month: m });
    for (text, want) in [
        ("March CY2026", m(2026, 3)),
        ("Mar CY2026", m(2026, 3)),
        ("march 2026", m(2026, 3)),
        ("2026-11", m(2026, 11)),
        ("December CY2025", m(2025, 12)),
        ("Q1 CY2026", None),
        ("Ma CY2026", None),
        ("March", None),
        ("March CY2026 or later", None),
        ("2026-13", None),
        ("Марта CY2026", None),
        ("", None),
    ] {
        assert_eq!(RoadmapMonth::parse(text), want, "{text:?}");
    }
    let march = RoadmapMonth {
        year: 2026,
        month: 3,
    };
    assert_eq!(march.to_string(), "March 2026");
    assert_eq!(march.key(), "2026-03");
    assert_eq!(march.start().unwrap().date(), "2026-03-01");
}

#[test]
fn long_text_is_cut_at_a_character_never_inside_one() {
    let long = "é".repeat(MAX_ROADMAP_TEXT + 10);
    let feed = parse_roadmap_json(&format!(
        r#"[{{"id":1,"title":"t","description":"{long}"}}]"#
    ))
    .unwrap();
    assert_eq!(feed.items[0].description.chars().count(), MAX_ROADMAP_TEXT);
}

#[test]
fn changes_name_what_moved() {
    let old = parse_roadmap_json(ONE).unwrap().items.remove(0);
    assert!(roadmap_changes(&old, &old).is_empty());
    let mut new = old.clone();
    new.status = RoadmapStatus::RollingOut;
    new.release = Some("May CY2026".into());
    new.products.push("Teams".into());
    new.platforms.clear();
    new.modified = None;
    let changes = roadmap_changes(&old, &new);
    assert_eq!(
        changes,
        vec![
            RoadmapChange::Status {
                from: "In development".into(),
                to: "Rolling out".into()
            },
            RoadmapChange::Release {
                from: Some("March CY2026".into()),
                to: Some("May CY2026".into())
            },
            RoadmapChange::Products {
                added: vec!["Teams".into()],
                removed: vec![]
            },
            RoadmapChange::Platforms {
                added: vec![],
                removed: vec!["Desktop".into()]
            },
        ]
    );
    assert!(
        changes[0].moves_timeline() && changes[1].moves_timeline() && !changes[2].moves_timeline()
    );
    let shown: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        vec![
            "status: In development → Rolling out",
            "release: March CY2026 → May CY2026",
            "products: +Teams",
            "platforms: -Desktop"
        ]
    );
}

#[test]
fn what_is_written_in_the_feeds_shape_reads_back_the_same() {
    let mut items = parse_roadmap_json(ONE).unwrap().items;
    items.push(RoadmapItem {
        id: 9,
        title: "Ünïcödé ✓".into(),
        description: String::new(),
        more_info: Some("https://example.com/x".into()),
        status: RoadmapStatus::Unknown("Retired".into()),
        release: None,
        preview: Some("June CY2026".into()),
        created: None,
        modified: None,
        products: vec![],
        platforms: vec!["Web".into(), "Mac".into()],
        cloud_instances: vec![],
        release_phases: vec![],
    });
    let back = parse_roadmap_json(&to_roadmap_json(&items)).unwrap();
    assert!(back.skipped.is_empty());
    assert_eq!(back.items, items);
}
