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

// ------------------------------------------- groups overage and Graph's /me

mod overage {
    use std::collections::HashMap;

    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use reqwest::StatusCode;
    use serde_json::{Value, json};
    use sha2::{Digest, Sha256};

    use crate::server::oidc::GROUPS_OVERAGE_LIMIT;
    use crate::{
        CorpusSpec, MemberObjectsFault, SIM_CLIENT_ID, SIM_CLIENT_SECRET, SimConfig, SimHandle,
        SimUser,
    };

    const REDIRECT: &str = "http://127.0.0.1:9/api/v1/session/oidc/callback";

    async fn sim() -> SimHandle {
        crate::start(SimConfig {
            tenants: 1,
            spec: CorpusSpec {
                posts: 3,
                issues: 1,
                ..CorpusSpec::default()
            },
            ..SimConfig::default()
        })
        .await
        .unwrap()
    }

    fn client() -> reqwest::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    fn groups(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
            .collect()
    }

    /// The user `username` signs in asking for `scope`: the token answer.
    async fn sign_in(sim: &SimHandle, username: &str, scope: &str) -> Value {
        let verifier = URL_SAFE_NO_PAD.encode(Sha256::digest(username.as_bytes()));
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let r = client()
            .get(format!(
                "{}tenant-001/oauth2/v2.0/authorize",
                sim.base_url()
            ))
            .query(&[
                ("client_id", SIM_CLIENT_ID),
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", scope),
                ("state", "s"),
                ("nonce", "n"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("login_hint", username),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let q: HashMap<String, String> = location.query_pairs().into_owned().collect();
        let r = client()
            .post(format!("{}tenant-001/oauth2/v2.0/token", sim.base_url()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", SIM_CLIENT_ID),
                ("client_secret", SIM_CLIENT_SECRET),
                ("code", q["code"].as_str()),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// The claims of an ID token (its signature is tested elsewhere).
    fn claims(token: &Value) -> Value {
        let id_token = token["id_token"].as_str().unwrap();
        let payload = id_token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
    }

    async fn member_objects(
        sim: &SimHandle,
        bearer: Option<&str>,
        body: &str,
    ) -> (StatusCode, Value) {
        let mut req = client()
            .post(format!("{}v1.0/me/getMemberObjects", sim.base_url()))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(b) = bearer {
            req = req.bearer_auth(b);
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    fn user(username: &str, n: usize) -> SimUser {
        let mut u = SimUser::new(username, username, &[]);
        u.groups = groups(n);
        u
    }

    #[tokio::test]
    async fn more_than_200_groups_is_an_overage() {
        assert_eq!(GROUPS_OVERAGE_LIMIT, 200);
        let sim = sim().await;
        let at_limit = user("at@contoso.example", 200);
        let over = user("over@contoso.example", 201);
        sim.oidc_set_users(vec![at_limit.clone(), over.clone()])
            .unwrap();
        let tid = sim.tenants()[0].tenant_id.clone();

        let c = claims(&sign_in(&sim, "at@contoso.example", "openid profile email").await);
        assert_eq!(c["groups"], json!(at_limit.groups));
        assert!(c.get("_claim_names").is_none() && c.get("_claim_sources").is_none());

        let c = claims(&sign_in(&sim, "over@contoso.example", "openid profile email").await);
        assert!(c.get("groups").is_none(), "{c}");
        assert_eq!(c["_claim_names"], json!({"groups": "src1"}));
        assert_eq!(
            c["_claim_sources"],
            json!({"src1": {"endpoint": format!(
                "https://graph.windows.net/{tid}/users/{}/getMemberObjects",
                over.oid
            )}})
        );
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn get_member_objects_answers_with_user_read_only() {
        let sim = sim().await;
        let over = user("over@contoso.example", 250);
        sim.oidc_set_users(vec![over.clone()]).unwrap();

        // the token answer's scope is what was asked for
        let plain = sign_in(&sim, "over@contoso.example", "openid profile email").await;
        assert_eq!(plain["scope"], "openid profile email");
        let scope = format!("openid profile email {}User.Read", sim.base_url());
        let graph = sign_in(&sim, "over@contoso.example", &scope).await;
        assert_eq!(graph["scope"], scope.as_str());
        let bare = sign_in(&sim, "over@contoso.example", "openid user.read").await;
        let body = r#"{"securityEnabledOnly": false}"#;

        // with User.Read (prefixed or bare): every group, in one answer
        for token in [&graph, &bare] {
            let (status, answer) = member_objects(&sim, token["access_token"].as_str(), body).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            assert_eq!(
                answer["@odata.context"],
                "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)"
            );
            assert_eq!(answer["value"], json!(over.groups));
            assert!(answer.get("@odata.nextLink").is_none());
        }
        let logged = sim
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1.0/me/getMemberObjects")
            .collect::<Vec<_>>();
        assert_eq!(logged.len(), 2, "in the request log");
        assert!(logged.iter().all(|r| r.method == "POST"
            && r.status == 200
            && r.tenant.as_deref() == Some("tenant-001")));

        let error = |answer: &Value| answer["error"]["code"].as_str().unwrap_or("").to_owned();
        // 401: no token, an unknown one, an expired one
        let (status, answer) = member_objects(&sim, None, body).await;
        assert_eq!(
            (status, error(&answer)),
            (
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken".into()
            )
        );
        let (status, answer) = member_objects(&sim, Some("sim-user.forged"), body).await;
        assert_eq!(
            (status, error(&answer)),
            (
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken".into()
            )
        );
        // 403: a token whose sign-in did not ask for User.Read
        let (status, answer) = member_objects(&sim, plain["access_token"].as_str(), body).await;
        assert_eq!(
            (status, error(&answer)),
            (StatusCode::FORBIDDEN, "Authorization_RequestDenied".into())
        );
        assert_eq!(
            answer["error"]["message"],
            "Insufficient privileges to complete the operation."
        );
        // 400: not JSON, no securityEnabledOnly, not a boolean
        for bad in ["not json", "{}", r#"{"securityEnabledOnly": "false"}"#] {
            let (status, answer) = member_objects(&sim, graph["access_token"].as_str(), bad).await;
            assert_eq!(
                (status, error(&answer)),
                (StatusCode::BAD_REQUEST, "Request_BadRequest".into()),
                "{bad}"
            );
        }
        // the fault spoils the next answer only
        sim.oidc_set_member_objects_fault(Some(MemberObjectsFault::Denied));
        assert_eq!(
            sim.oidc_member_objects_fault(),
            Some(MemberObjectsFault::Denied)
        );
        let (status, answer) = member_objects(&sim, graph["access_token"].as_str(), body).await;
        assert_eq!(
            (status, error(&answer)),
            (StatusCode::FORBIDDEN, "Authorization_RequestDenied".into())
        );
        assert_eq!(sim.oidc_member_objects_fault(), None);
        let (status, _) = member_objects(&sim, graph["access_token"].as_str(), body).await;
        assert_eq!(status, StatusCode::OK);
        // and through the control API
        let r = client()
            .put(format!("{}_sim/oidc/member-objects-fault", sim.base_url()))
            .body(r#"{"fault": "malformed"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let (status, answer) = member_objects(&sim, graph["access_token"].as_str(), body).await;
        assert_eq!(status, StatusCode::OK);
        assert!(answer["value"][0].is_object(), "{answer}");

        // expired tokens: 401 with Graph's lifetime message
        sim.expire_tokens();
        let (status, answer) = member_objects(&sim, graph["access_token"].as_str(), body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            answer["error"]["message"],
            "Lifetime validation failed, the token is expired."
        );
        sim.shutdown().await;
    }
}
