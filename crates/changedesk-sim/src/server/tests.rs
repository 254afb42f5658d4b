//! Unit tests of the views, query options and paging (the HTTP surface is
//! tested in `tests/server.rs`).

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::{Value, json};

use super::views::{
    Kind, PageContext, Query, Snapshot, View, parse_filter, parse_orderby, render_page,
};
use crate::{
    Corpus, CorpusSpec, advance, generate, tenant_health_overviews, tenant_issues, tenant_messages,
};

fn corpus(posts: usize, issues: usize) -> Arc<Corpus> {
    Arc::new(generate(&CorpusSpec {
        posts,
        issues,
        ..CorpusSpec::default()
    }))
}

fn items(view: &View) -> Vec<Value> {
    (0..view.len())
        .map(|i| {
            let mut out = Vec::new();
            view.write(i, &mut out);
            serde_json::from_slice(&out).unwrap()
        })
        .collect()
}

#[test]
fn views_are_the_generators_tenant_views() {
    let c = corpus(400, 30);
    let snap = Snapshot::new(1, Arc::clone(&c), None, 4);
    for t in 0..4 {
        assert_eq!(items(&snap.view(Kind::Messages, t)), tenant_messages(&c, t));
        assert_eq!(items(&snap.view(Kind::Issues, t)), tenant_issues(&c, t));
        assert_eq!(
            items(&snap.view(Kind::Health, t)),
            tenant_health_overviews(&c, t)
        );
    }
    // The per-tenant part really differs between tenants somewhere.
    let a = items(&snap.view(Kind::Messages, 0));
    let b = items(&snap.view(Kind::Messages, 1));
    let fsj = |v: &Value| {
        v["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "FeatureStatusJson")
            .map(|d| d["value"].clone())
    };
    let differs = a.iter().any(|x| {
        b.iter()
            .find(|y| y["id"] == x["id"])
            .is_some_and(|y| fsj(x).is_some() && fsj(x) != fsj(y))
    });
    assert!(differs);
}

#[test]
fn file_items_are_served_to_every_tenant_as_given() {
    let c = corpus(20, 2);
    let file = vec![
        json!({"id": "MC1", "title": "a", "lastModifiedDateTime": "2025-01-01T00:00:00Z"}),
        json!({"id": "MC2", "title": "b \"quoted\" \u{e9}"}),
    ];
    let snap = Snapshot::new(1, c, Some(Arc::new(file.clone())), 3);
    for t in 0..3 {
        assert_eq!(items(&snap.view(Kind::Messages, t)), file);
    }
}

fn cx(kind: Kind, version: u64, page_size: usize) -> PageContext<'static> {
    PageContext {
        kind,
        tenant: 0,
        version,
        page_size,
        base: "http://sim/",
    }
}

fn skiptoken(page: &Value) -> Option<String> {
    let link = page["@odata.nextLink"].as_str()?;
    let url = url::Url::parse(link).unwrap();
    assert_eq!(
        url.path(),
        "/v1.0/admin/serviceAnnouncement/messages",
        "{link}"
    );
    let (k, v) = url.query_pairs().next().unwrap();
    assert_eq!(k, "$skiptoken");
    assert!(v.parse::<u64>().is_err(), "not a plain offset: {v}");
    Some(v.into_owned())
}

/// Follows a chain of pages; returns the ids in order and the page count.
fn chain(view: &View, first: Query, cx: &PageContext<'_>) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut q = first;
    let mut pages = 0;
    loop {
        let body = render_page(view, &q, cx).unwrap();
        let page: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            page["@odata.context"],
            "http://sim/v1.0/$metadata#admin/serviceAnnouncement/messages"
        );
        pages += 1;
        let value = page["value"].as_array().unwrap();
        assert!(value.len() <= cx.page_size);
        ids.extend(value.iter().map(|v| v["id"].as_str().unwrap().to_owned()));
        match skiptoken(&page) {
            Some(token) => {
                q = Query {
                    skiptoken: Some(token),
                    ..Query::default()
                }
            }
            None => return (ids, pages),
        }
    }
}

#[test]
fn pages_chain_through_every_item_once() {
    let c = corpus(250, 5);
    let snap = Snapshot::new(7, Arc::clone(&c), None, 1);
    let view = snap.view(Kind::Messages, 0);
    let all: Vec<String> = (0..view.len()).map(|i| view.id(i).to_owned()).collect();
    assert!(all.len() > 150);

    let (ids, pages) = chain(&view, Query::default(), &cx(Kind::Messages, 7, 100));
    assert_eq!(ids, all);
    assert_eq!(pages, all.len().div_ceil(100));

    let (ids, pages) = chain(&view, Query::default(), &cx(Kind::Messages, 7, 1000));
    assert_eq!((ids.len(), pages), (all.len(), 1));

    // $top caps the total; $skip starts later.
    let q = Query {
        top: Some("130".into()),
        ..Query::default()
    };
    let (ids, pages) = chain(&view, q, &cx(Kind::Messages, 7, 50));
    assert_eq!((ids.as_slice(), pages), (&all[..130], 3));
    let q = Query {
        skip: Some("10".into()),
        ..Query::default()
    };
    assert_eq!(chain(&view, q, &cx(Kind::Messages, 7, 100)).0, all[10..]);

    // Filter and order are carried by the token.
    let cut = "2026-08-01T00:00:00Z";
    let q = Query {
        filter: Some(format!("lastModifiedDateTime ge {cut}")),
        orderby: Some("lastModifiedDateTime desc".into()),
        ..Query::default()
    };
    let (ids, _) = chain(&view, q, &cx(Kind::Messages, 7, 7));
    let lm = |id: &str| {
        c.messages.iter().find(|m| m["id"] == id).unwrap()["lastModifiedDateTime"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let expected: HashSet<&String> = all.iter().filter(|id| lm(id).as_str() >= cut).collect();
    assert!(!expected.is_empty() && expected.len() < all.len());
    assert_eq!(ids.iter().collect::<HashSet<_>>(), expected);
    assert_eq!(ids.len(), expected.len());
    let stamps: Vec<String> = ids.iter().map(|id| lm(id)).collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "descending");
}

#[test]
fn a_skiptoken_continues_after_its_last_item_in_a_new_version() {
    let c = corpus(300, 5);
    let snap = Snapshot::new(1, Arc::clone(&c), None, 1);
    let view = snap.view(Kind::Messages, 0);
    let body = render_page(&view, &Query::default(), &cx(Kind::Messages, 1, 100)).unwrap();
    let page: Value = serde_json::from_slice(&body).unwrap();
    let last = page["value"][99]["id"].as_str().unwrap().to_owned();
    let token = skiptoken(&page).unwrap();

    let later = Arc::new(advance(&c, 30, 3));
    let snap2 = Snapshot::new(2, Arc::clone(&later), None, 1);
    let view2 = snap2.view(Kind::Messages, 0);
    let q = Query {
        skiptoken: Some(token),
        ..Query::default()
    };
    let (ids, _) = chain(&view2, q, &cx(Kind::Messages, 2, 100));
    let all2: Vec<String> = (0..view2.len()).map(|i| view2.id(i).to_owned()).collect();
    match all2.iter().position(|id| *id == last) {
        Some(p) => assert_eq!(ids, all2[p + 1..]),
        None => assert_eq!(ids, all2[100.min(all2.len())..]),
    }
}

#[test]
fn a_skiptoken_is_bound_to_its_tenant_and_collection() {
    let c = corpus(150, 5);
    let snap = Snapshot::new(1, Arc::clone(&c), None, 2);
    let view = snap.view(Kind::Messages, 0);
    let body = render_page(&view, &Query::default(), &cx(Kind::Messages, 1, 10)).unwrap();
    let token = skiptoken(&serde_json::from_slice(&body).unwrap()).unwrap();
    let q = Query {
        skiptoken: Some(token),
        ..Query::default()
    };
    let other_tenant = PageContext {
        tenant: 1,
        ..cx(Kind::Messages, 1, 10)
    };
    assert!(render_page(&snap.view(Kind::Messages, 1), &q, &other_tenant).is_err());
    assert!(render_page(&snap.view(Kind::Issues, 0), &q, &cx(Kind::Issues, 1, 10)).is_err());
    let garbage = Query {
        skiptoken: Some("100".into()),
        ..Query::default()
    };
    assert!(render_page(&view, &garbage, &cx(Kind::Messages, 1, 10)).is_err());
}

#[test]
fn filters_graph_accepts() {
    for ok in [
        "lastModifiedDateTime ge 2025-01-25T00:00:00Z",
        "lastModifiedDateTime gt 2025-01-25T00:00:00.123Z",
        "lastModifiedDateTime ge 2025-01-25T00:00:00Z and lastModifiedDateTime lt 2025-02-01T00:00:00+01:00",
        "(lastModifiedDateTime ge 2025-01-25T00:00:00Z) and (lastModifiedDateTime le 2026-01-25T00:00:00Z)",
        "LastModifiedDateTime GE 2025-01-25T00:00:00Z",
    ] {
        assert!(parse_filter(ok, Kind::Messages).is_ok(), "{ok}");
        assert!(parse_filter(ok, Kind::Issues).is_ok(), "{ok}");
    }
}

#[test]
fn filters_graph_refuses() {
    let err = |f: &str, kind: Kind| parse_filter(f, kind).unwrap_err();
    assert_eq!(
        err("details/any(d:d/name eq 'Summary')", Kind::Messages),
        "Filter on details is not supported"
    );
    assert!(
        err(
            "lastModifiedDateTime ge '2025-01-25T00:00:00Z'",
            Kind::Messages
        )
        .contains("incompatible types")
    );
    assert!(
        err("lastModified ge 2025-01-25T00:00:00Z", Kind::Messages)
            .contains("Could not find a property named 'lastModified'")
    );
    assert!(
        err("lastModifiedDateTime ge 2025-01-25T00:00:00Z", Kind::Health)
            .contains("microsoft.graph.serviceHealth")
    );
    for bad in [
        "",
        "garbage",
        "lastModifiedDateTime ge",
        "lastModifiedDateTime ge 2025-01-25",
        "lastModifiedDateTime ge 2025-01-25T00:00:00Z or lastModifiedDateTime lt 2026-01-01T00:00:00Z",
        "lastModifiedDateTime ge 2025-01-25T00:00:00Z and",
        "lastModifiedDateTime foo 2025-01-25T00:00:00Z",
        "category eq 'planForChange'",
        "(lastModifiedDateTime ge 2025-01-25T00:00:00Z",
    ] {
        let e = err(bad, Kind::Messages);
        assert!(e.starts_with("Invalid filter clause"), "{bad}: {e}");
    }
}

#[test]
fn orderby() {
    assert_eq!(
        parse_orderby("lastModifiedDateTime desc", Kind::Messages),
        Ok(true)
    );
    assert_eq!(
        parse_orderby("lastModifiedDateTime", Kind::Issues),
        Ok(false)
    );
    assert_eq!(
        parse_orderby("lastModifiedDateTime asc", Kind::Issues),
        Ok(false)
    );
    assert!(parse_orderby("title desc", Kind::Messages).is_err());
    assert!(parse_orderby("lastModifiedDateTime sideways", Kind::Messages).is_err());
    assert!(parse_orderby("lastModifiedDateTime", Kind::Health).is_err());
}
