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

// ------------------------------------- admin consent and per-endpoint roles

mod consent {
    use std::collections::BTreeSet;

    use reqwest::StatusCode;
    use serde_json::{Value, json};

    use crate::{
        CorpusSpec, DEFAULT_APP_ROLES, SERVICE_HEALTH_READ_ALL, SERVICE_MESSAGE_READ_ALL,
        SIM_CLIENT_ID, SIM_CLIENT_SECRET, SimConfig, SimError, SimHandle, TenantMode,
    };

    const REDIRECT: &str = "http://127.0.0.1:9/admin/consented";

    async fn sim(unconsented: bool) -> SimHandle {
        crate::start(SimConfig {
            tenants: 2,
            spec: CorpusSpec {
                posts: 5,
                issues: 2,
                ..CorpusSpec::default()
            },
            unconsented,
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

    fn scope(sim: &SimHandle) -> String {
        format!("{}/.default", sim.base_url().trim_end_matches('/'))
    }

    /// A client-credentials token request with the secret.
    async fn token_request(sim: &SimHandle, tenant: &str) -> (StatusCode, Value) {
        let r = client()
            .post(format!("{}{tenant}/oauth2/v2.0/token", sim.base_url()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", SIM_CLIENT_ID),
                ("client_secret", SIM_CLIENT_SECRET),
                ("scope", scope(sim).as_str()),
            ])
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap())
    }

    async fn access_token(sim: &SimHandle, tenant: &str) -> String {
        let (status, body) = token_request(sim, tenant).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    fn assert_app_not_found(status: StatusCode, body: &Value, tenant: &str) {
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["error"], "unauthorized_client", "{body}");
        assert_eq!(body["error_codes"], json!([700016]), "{body}");
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.starts_with(&format!(
                "AADSTS700016: Application with identifier '{SIM_CLIENT_ID}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant."
            )),
            "{description}"
        );
    }

    /// `GET …/admin/serviceAnnouncement/{path}`: status and JSON body.
    async fn graph(sim: &SimHandle, token: &str, path: &str) -> (StatusCode, Value) {
        let r = client()
            .get(format!(
                "{}v1.0/admin/serviceAnnouncement/{path}",
                sim.base_url()
            ))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = r.status();
        (status, r.json().await.unwrap())
    }

    fn assert_denied(status: StatusCode, body: &Value) {
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(
            body["error"]["code"], "Authorization_RequestDenied",
            "{body}"
        );
        assert_eq!(
            body["error"]["message"],
            "Insufficient privileges to complete the operation."
        );
    }

    /// An admin consent request with these query parameters.
    async fn admin_consent(
        sim: &SimHandle,
        tenant: &str,
        params: &[(&str, &str)],
    ) -> reqwest::Response {
        client()
            .get(format!("{}{tenant}/v2.0/adminconsent", sim.base_url()))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// The redirect of a 302: the URL and its query pairs in order.
    fn location(r: &reqwest::Response) -> (url::Url, Vec<(String, String)>) {
        assert_eq!(r.status(), StatusCode::FOUND);
        let raw = r.headers()["location"].to_str().unwrap();
        let url = url::Url::parse(raw).unwrap();
        let pairs = url.query_pairs().into_owned().collect();
        (url, pairs)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// A refusal shown as Entra's error page: 400, HTML, no redirect.
    async fn assert_page(r: reqwest::Response, code: &str, contains: &str) -> String {
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(r.headers().get("location").is_none(), "not a redirect");
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "text/html; charset=utf-8"
        );
        let body = r.text().await.unwrap();
        assert!(body.starts_with("<!DOCTYPE html>"), "{body}");
        assert!(body.contains(&format!("AADSTS{code}: ")), "{body}");
        assert!(body.contains(contains), "{contains} in {body}");
        body
    }

    fn default_roles() -> Vec<String> {
        let sorted: BTreeSet<&str> = DEFAULT_APP_ROLES.into_iter().collect();
        sorted.into_iter().map(str::to_owned).collect()
    }

    #[tokio::test]
    async fn admin_consent_lets_an_unconsented_tenant_in() {
        let sim = sim(true).await;
        let t = sim.tenants()[0].clone();
        assert!(!t.consented);
        assert_eq!(sim.consented("tenant-001"), Some(false));
        assert_eq!(sim.consented("tenant-404"), None);
        assert_eq!(sim.app_roles("tenant-001"), Some(vec![]));

        // no consent: the token endpoint does not know the app
        let (status, body) = token_request(&sim, "tenant-001").await;
        assert_app_not_found(status, &body, "tenant-001");
        let (status, body) = token_request(&sim, &t.tenant_id).await;
        assert_app_not_found(status, &body, "tenant-001");

        // the administrator consents (the redirect URI keeps its query)
        let scope = scope(&sim);
        let redirect = format!("{REDIRECT}?from=setup");
        let state = "st ate/1&x=é";
        let r = admin_consent(
            &sim,
            "tenant-001.onmicrosoft.com",
            &[
                ("client_id", SIM_CLIENT_ID),
                ("scope", &scope),
                ("redirect_uri", &redirect),
                ("state", state),
            ],
        )
        .await;
        let (url, query) = location(&r);
        assert_eq!(
            (url.scheme(), url.host_str(), url.port(), url.path()),
            ("http", Some("127.0.0.1"), Some(9), "/admin/consented")
        );
        assert_eq!(
            query,
            pairs(&[
                ("from", "setup"),
                ("admin_consent", "True"),
                ("tenant", &t.tenant_id),
                ("scope", &scope),
                ("state", state),
            ])
        );
        assert_eq!(
            r.headers()["cache-control"].to_str().unwrap(),
            "no-store, no-cache"
        );
        assert_eq!(sim.consented("tenant-001"), Some(true));
        assert!(sim.tenants()[0].consented);
        assert_eq!(sim.app_roles("tenant-001"), Some(default_roles()));
        // the other tenant has not consented
        assert_eq!(sim.consented("tenant-002"), Some(false));
        let (status, body) = token_request(&sim, "tenant-002").await;
        assert_app_not_found(status, &body, "tenant-002");

        // tokens now, and Graph answers them
        let token = access_token(&sim, "tenant-001").await;
        let (status, body) = graph(&sim, &token, "messages").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(!body["value"].as_array().unwrap().is_empty());
        let (status, _) = graph(&sim, &token, "issues").await;
        assert_eq!(status, StatusCode::OK);

        // without state, no state; the request is logged with its tenant
        let r = admin_consent(
            &sim,
            "tenant-002",
            &[
                ("client_id", SIM_CLIENT_ID),
                ("scope", &scope),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
        let (_, query) = location(&r);
        assert_eq!(
            query,
            pairs(&[
                ("admin_consent", "True"),
                ("tenant", &sim.tenants()[1].tenant_id),
                ("scope", &scope),
            ])
        );
        let logged: Vec<_> = sim
            .requests()
            .into_iter()
            .filter(|r| r.path.ends_with("/v2.0/adminconsent"))
            .collect();
        assert_eq!(logged.len(), 2);
        assert_eq!(
            logged
                .iter()
                .map(|r| (r.method.as_str(), r.status, r.tenant.as_deref()))
                .collect::<Vec<_>>(),
            [
                ("GET", 302, Some("tenant-001")),
                ("GET", 302, Some("tenant-002"))
            ]
        );
        assert!(
            logged[1]
                .query
                .contains(&format!("client_id={SIM_CLIENT_ID}"))
        );
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn a_declined_consent_redirects_with_access_denied() {
        let sim = sim(true).await;
        let scope = scope(&sim);
        let guid = sim.tenants()[0].tenant_id.clone();
        let params = [
            ("client_id", SIM_CLIENT_ID),
            ("scope", scope.as_str()),
            ("redirect_uri", REDIRECT),
            ("state", "12345"),
        ];
        sim.decline_next_consent();
        // a request refused before the administrator sees it spends nothing
        let r = admin_consent(&sim, "tenant-001", &params[1..]).await;
        assert_page(r, "900144", "&#39;client_id&#39;").await;

        let r = admin_consent(&sim, "tenant-001", &params).await;
        let raw = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            raw.contains(
                "error=access_denied&error_description=AADSTS65004%3A+User+declined+to+consent+to+access+the+app.&admin_consent=False"
            ),
            "{raw}"
        );
        let (url, query) = location(&r);
        assert_eq!(url.path(), "/admin/consented");
        assert_eq!(
            query,
            pairs(&[
                ("error", "access_denied"),
                (
                    "error_description",
                    "AADSTS65004: User declined to consent to access the app."
                ),
                ("admin_consent", "False"),
                ("tenant", &guid),
                ("state", "12345"),
            ])
        );
        assert_eq!(sim.consented("tenant-001"), Some(false));
        let (status, body) = token_request(&sim, "tenant-001").await;
        assert_app_not_found(status, &body, "tenant-001");

        // once: the next request is approved
        let r = admin_consent(&sim, "tenant-001", &params).await;
        let (_, query) = location(&r);
        assert_eq!(query[0], ("admin_consent".to_owned(), "True".to_owned()));
        assert_eq!(sim.consented("tenant-001"), Some(true));

        // through the control API
        let r = client()
            .post(format!("{}_sim/consent/decline-next", sim.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        let r = admin_consent(&sim, "tenant-002", &params).await;
        let (_, query) = location(&r);
        assert_eq!(query[0], ("error".to_owned(), "access_denied".to_owned()));
        assert_eq!(sim.consented("tenant-002"), Some(false));
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn admin_consent_refusals() {
        let sim = sim(true).await;
        let scope = scope(&sim);
        let with = |redirect: &'static str| {
            vec![
                ("client_id", SIM_CLIENT_ID),
                ("scope", scope.as_str()),
                ("redirect_uri", redirect),
                ("state", "s"),
            ]
        };

        // a redirect URI that is not the app's: a page, never a redirect
        let r = admin_consent(&sim, "tenant-001", &with("https://evil.example/cb")).await;
        assert_page(
            r,
            "50011",
            &format!(
                "The redirect URI &#39;https://evil.example/cb&#39; specified in the request does not match the redirect URIs configured for the application &#39;{SIM_CLIENT_ID}&#39;."
            ),
        )
        .await;
        // what the request carries is escaped on the page
        let r = admin_consent(&sim, "tenant-001", &with("https://evil.example/<script>")).await;
        let body = assert_page(r, "50011", "&lt;script&gt;").await;
        assert!(!body.contains("<script>"), "{body}");

        // unknown tenants, and generic ones: the simulator needs one tenant
        for tenant in ["tenant-404", "organizations", "common"] {
            let r = admin_consent(&sim, tenant, &with(REDIRECT)).await;
            assert_page(r, "90002", "needs a specific tenant").await;
        }
        let r = admin_consent(&sim, "common", &with(REDIRECT)).await;
        assert_page(r, "90002", "names no single tenant").await;
        sim.set_tenant_mode("tenant-002", TenantMode::NotFound)
            .unwrap();
        let r = admin_consent(&sim, "tenant-002", &with(REDIRECT)).await;
        assert_page(r, "90002", "Tenant &#39;tenant-002&#39; not found.").await;

        // missing parameters, another app
        let params = with(REDIRECT);
        for (i, name) in ["client_id", "scope", "redirect_uri"]
            .into_iter()
            .enumerate()
        {
            let mut without = params.clone();
            without.remove(i);
            let r = admin_consent(&sim, "tenant-001", &without).await;
            assert_page(
                r,
                "900144",
                &format!(
                    "The request body must contain the following parameter: &#39;{name}&#39;."
                ),
            )
            .await;
        }
        let mut other = params.clone();
        other[0].1 = "0f3a9c2e-5d41-4b7a-8e16-2c9d7b4a1f00";
        let r = admin_consent(&sim, "tenant-001", &other).await;
        assert_page(
            r,
            "700016",
            "Application with identifier &#39;0f3a9c2e-5d41-4b7a-8e16-2c9d7b4a1f00&#39; was not found in the directory &#39;tenant-001&#39;.",
        )
        .await;

        // a scope other than the Graph root's .default: back to the app
        let mut wrong = params.clone();
        wrong[1].1 = "https://graph.microsoft.com/.default";
        let r = admin_consent(&sim, "tenant-001", &wrong).await;
        let (_, query) = location(&r);
        let keys: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["error", "error_description", "state"]);
        assert_eq!(query[0].1, "invalid_scope");
        assert!(query[1].1.starts_with("AADSTS70011: "), "{}", query[1].1);
        assert_eq!(query[2].1, "s");

        // nothing was consented on the way
        assert_eq!(sim.consented("tenant-001"), Some(false));
        assert_eq!(sim.consented("tenant-002"), Some(false));

        // registered redirect URIs replace the loopback rule, as for sign-in
        sim.oidc_set_redirect_uris(vec!["https://app.example/consented".to_owned()])
            .unwrap();
        let r = admin_consent(&sim, "tenant-001", &with(REDIRECT)).await;
        assert_page(r, "50011", "does not match the redirect URIs").await;
        let r = admin_consent(&sim, "tenant-001", &with("https://app.example/consented")).await;
        let (url, _) = location(&r);
        assert_eq!(url.host_str(), Some("app.example"));
        assert_eq!(sim.consented("tenant-001"), Some(true));
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn graph_checks_the_app_role_of_each_endpoint() {
        let sim = sim(false).await;
        let full = access_token(&sim, "tenant-001").await;
        let id = {
            let (status, body) = graph(&sim, &full, "messages").await;
            assert_eq!(status, StatusCode::OK);
            body["value"][0]["id"].as_str().unwrap().to_owned()
        };

        sim.revoke_app_role("tenant-001", SERVICE_HEALTH_READ_ALL)
            .unwrap();
        let token = access_token(&sim, "tenant-001").await;
        for path in ["issues", "healthOverviews"] {
            let (status, body) = graph(&sim, &token, path).await;
            assert_denied(status, &body);
        }
        let (status, _) = graph(&sim, &token, "messages").await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = graph(&sim, &token, &format!("messages/{id}")).await;
        assert_eq!(
            (status, body["id"].as_str()),
            (StatusCode::OK, Some(id.as_str()))
        );
        // a token carries the roles of the moment it was issued
        let (status, _) = graph(&sim, &full, "issues").await;
        assert_eq!(status, StatusCode::OK);
        // other tenants are not affected
        let other = access_token(&sim, "tenant-002").await;
        let (status, _) = graph(&sim, &other, "healthOverviews").await;
        assert_eq!(status, StatusCode::OK);

        // without ServiceMessage.Read.All: no messages, listed or by id
        sim.grant_app_role("tenant-001", SERVICE_HEALTH_READ_ALL)
            .unwrap();
        sim.revoke_app_role("tenant-001", SERVICE_MESSAGE_READ_ALL)
            .unwrap();
        let token = access_token(&sim, "tenant-001").await;
        for path in ["messages".to_owned(), format!("messages/{id}")] {
            let (status, body) = graph(&sim, &token, &path).await;
            assert_denied(status, &body);
        }
        let (status, _) = graph(&sim, &token, "issues").await;
        assert_eq!(status, StatusCode::OK);
        let logged = sim.requests();
        let denied = logged
            .iter()
            .filter(|r| r.status == 403 && r.tenant.as_deref() == Some("tenant-001"))
            .count();
        assert_eq!(denied, 4, "{logged:?}");
        sim.shutdown().await;
    }

    #[tokio::test]
    async fn withdrawn_consent_ends_tokens_and_roles() {
        let sim = sim(false).await;
        let c = client();
        let consent_url = format!("{}_sim/tenants/tenant-001/consent", sim.base_url());
        let get = |url: String| {
            let c = c.clone();
            async move {
                let r = c.get(url).send().await.unwrap();
                (r.status(), r.json::<Value>().await.unwrap())
            }
        };
        let put = |url: String, body: &'static str| {
            let c = c.clone();
            async move {
                let r = c.put(url).body(body).send().await.unwrap();
                (r.status(), r.json::<Value>().await.unwrap())
            }
        };
        assert_eq!(
            get(consent_url.clone()).await,
            (
                StatusCode::OK,
                json!({"tenant": "tenant-001", "consented": true})
            )
        );
        let token = access_token(&sim, "tenant-001").await;
        let other = access_token(&sim, "tenant-002").await;

        // withdrawn through the control API
        assert_eq!(
            put(consent_url.clone(), r#"{"consented": false}"#).await,
            (
                StatusCode::OK,
                json!({"tenant": "tenant-001", "consented": false})
            )
        );
        assert_eq!(sim.consented("tenant-001"), Some(false));
        assert_eq!(sim.app_roles("tenant-001"), Some(vec![]));
        let (status, body) = token_request(&sim, "tenant-001").await;
        assert_app_not_found(status, &body, "tenant-001");
        let (status, body) = graph(&sim, &token, "messages").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
        // another tenant's token still works
        let (status, _) = graph(&sim, &other, "messages").await;
        assert_eq!(status, StatusCode::OK);
        let (_, listing) = get(format!("{}_sim/tenants", sim.base_url())).await;
        assert_eq!(
            listing["tenants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["consented"].clone())
                .collect::<Vec<_>>(),
            [json!(false), json!(true)]
        );

        // roles set by hand before consent are kept by it
        let r = c
            .put(format!("{}_sim/tenants/tenant-001/roles", sim.base_url()))
            .body(format!(r#"["{SERVICE_MESSAGE_READ_ALL}"]"#))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let (status, body) = token_request(&sim, "tenant-001").await;
        assert_app_not_found(status, &body, "tenant-001");
        sim.set_consented("tenant-001", true).unwrap();
        assert_eq!(
            sim.app_roles("tenant-001"),
            Some(vec![SERVICE_MESSAGE_READ_ALL.to_owned()])
        );
        let token = access_token(&sim, "tenant-001").await;
        let (status, _) = graph(&sim, &token, "messages").await;
        assert_eq!(status, StatusCode::OK);
        let (status, body) = graph(&sim, &token, "issues").await;
        assert_denied(status, &body);

        // withdrawn and granted again: the app's required permissions
        sim.set_consented("tenant-001", false).unwrap();
        let (status, _) = graph(&sim, &token, "messages").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            put(consent_url.clone(), r#"{"consented": true}"#).await.1["consented"],
            true
        );
        assert_eq!(sim.app_roles("tenant-001"), Some(default_roles()));
        let token = access_token(&sim, "tenant-001").await;
        let (status, _) = graph(&sim, &token, "issues").await;
        assert_eq!(status, StatusCode::OK);

        // refusals of the control API
        assert!(matches!(
            sim.set_consented("tenant-404", false),
            Err(SimError::UnknownTenant(_))
        ));
        let (status, _) = get(format!("{}_sim/tenants/tenant-404/consent", sim.base_url())).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = put(consent_url.clone(), r#"{"consented": "no"}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = put(consent_url, r#"{"consented": false, "x": 1}"#).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(sim.consented("tenant-001"), Some(true));
        sim.shutdown().await;
    }
}
