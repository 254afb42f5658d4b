//! Sync against the in-process Graph simulator, on SQLite and PostgreSQL:
//! many tenants, both kinds of credentials, token refresh, every fault,
//! failing tenants, incremental sync proven by the request log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use changedesk_core::Timestamp;
use changedesk_core::config::{Cloud, Credential, SyncSettings, TenantConfig};
use changedesk_graph::{ClientOptions, GraphClient};
use changedesk_server::sync::{Mode, Quiet, SyncRequest, TenantOutcome, sync_tenants};
use changedesk_sim::{CorpusSpec, Faults, SimConfig, SimHandle, TenantMode};
use changedesk_store::testing::TestStore;
use changedesk_store::{MessageFilter, Store};
use secrecy::SecretString;

/// Declares a test run once per backend.
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let t = TestStore::sqlite().await;
                ($body)(t.store.clone()).await;
                t.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(t) = TestStore::postgres().await else {
                    return;
                };
                ($body)(t.store.clone()).await;
                t.finish().await;
            }
        }
    };
}

const T0: &str = "2026-08-22T00:00:00Z";

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

async fn sim(tenants: usize, posts: usize) -> SimHandle {
    changedesk_sim::start(SimConfig {
        tenants,
        spec: CorpusSpec {
            posts,
            issues: 12,
            tenants,
            seed: 7,
            ..CorpusSpec::default()
        },
        seed: 7,
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts")
}

struct Keys {
    _dir: tempfile::TempDir,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("app.crt.pem");
    let key = dir.path().join("app.key.pem");
    std::fs::write(&cert, changedesk_sim::TEST_APP_CERTIFICATE_PEM).unwrap();
    std::fs::write(&key, changedesk_sim::TEST_APP_PRIVATE_KEY_PEM).unwrap();
    Keys {
        _dir: dir,
        cert,
        key,
    }
}

/// The simulator's tenants; those whose index is in `with_cert` sign in with the certificate.
fn tenants(sim: &SimHandle, keys: &Keys, with_cert: &[usize]) -> Vec<TenantConfig> {
    let base = url::Url::parse(sim.base_url()).unwrap();
    sim.tenants()
        .into_iter()
        .enumerate()
        .map(|(i, t)| TenantConfig {
            name: t.name,
            tenant_id: t.tenant_id,
            client_id: t.client_id,
            credential: if with_cert.contains(&i) {
                Credential::Certificate {
                    certificate_file: keys.cert.clone(),
                    private_key_file: keys.key.clone(),
                }
            } else {
                Credential::Secret(SecretString::from(t.client_secret))
            },
            cloud: Cloud::Global,
            login_url: Some(base.clone()),
            graph_url: Some(base.clone()),
            secret_expires: None,
        })
        .collect()
}

fn client(max_retry: Duration) -> GraphClient {
    GraphClient::new(ClientOptions {
        max_retry_time: max_retry,
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(100),
        ..ClientOptions::default()
    })
    .unwrap()
}

fn request(now: &str, full: bool) -> SyncRequest {
    SyncRequest {
        full,
        now: ts(now),
        settings: SyncSettings::default(),
        dry_run: false,
    }
}

async fn sync(
    store: &Store,
    graph: &GraphClient,
    tenants: &[TenantConfig],
    now: &str,
    full: bool,
) -> Vec<TenantOutcome> {
    sync_tenants(store, graph, tenants, &request(now, full), Arc::new(Quiet)).await
}

fn assert_all_ok(outcomes: &[TenantOutcome]) {
    for o in outcomes {
        assert!(o.ok(), "{}: {:?}", o.tenant, o.error);
    }
}

/// What a tenant sees in the simulator right now: post ids.
fn sim_view(sim: &SimHandle, t: usize) -> BTreeSet<String> {
    changedesk_sim::tenant_messages(&sim.corpus(), t)
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

/// Per post: its revisions (by lastModifiedDateTime) and which tenants see it.
type Projection = BTreeMap<String, (Vec<String>, Vec<(String, bool)>)>;

/// The archive reduced to what must match between two ways of getting there.
async fn projection(store: &Store) -> Projection {
    let mut out = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .export_messages_page(after.as_deref(), 200)
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.summary.id.clone());
        for p in page {
            let revs = p
                .revisions
                .iter()
                .map(|r| {
                    r.last_modified
                        .map(|t| t.to_canonical())
                        .unwrap_or_default()
                })
                .collect();
            let links = p
                .tenants
                .iter()
                .map(|t| (t.name.clone(), t.visible))
                .collect();
            out.insert(p.summary.id, (revs, links));
        }
    }
    out
}

both!(
    many_tenants_sync_with_secrets_and_certificates,
    |store: Store| async move {
        let sim = sim(4, 150).await;
        let keys = keys();
        let tenants = tenants(&sim, &keys, &[1, 3]);
        let outcomes = sync(
            &store,
            &client(Duration::from_secs(10)),
            &tenants,
            T0,
            false,
        )
        .await;
        assert_all_ok(&outcomes);
        let views: Vec<BTreeSet<String>> = (0..4).map(|t| sim_view(&sim, t)).collect();
        let union: BTreeSet<&String> = views.iter().flatten().collect();
        let c = store.counts().await.unwrap();
        assert_eq!(c.posts as usize, union.len(), "each post stored once");
        assert_eq!(
            c.post_links as usize,
            views.iter().map(BTreeSet::len).sum::<usize>(),
            "one link per tenant that sees it"
        );
        assert_eq!(c.post_revisions, c.posts);
        assert!(c.incidents > 0 && c.health_services > 0);
        for (t, o) in outcomes.iter().enumerate() {
            let m = o.messages.as_ref().unwrap();
            assert_eq!(m.mode, Mode::Full);
            assert_eq!(m.fetched, views[t].len());
            let row = store.tenant(&o.tenant).await.unwrap().unwrap();
            assert_eq!(
                (row.last_sync_at, row.last_sync_error.as_deref()),
                (Some(ts(T0)), None)
            );
            assert_eq!(row.posts_visible as usize, views[t].len());
        }
        // the certificate tenants really used an assertion
        let token_posts: Vec<_> = sim
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/token"))
            .collect();
        assert_eq!(
            token_posts.len(),
            4,
            "one token per tenant, cached for the rest"
        );
        sim.shutdown().await;
    }
);

both!(
    incremental_sync_asks_only_for_changes_and_ends_like_full_syncs,
    |store: Store| async move {
        let sim = sim(3, 200).await;
        let keys = keys();
        let tenants = tenants(&sim, &keys, &[]);
        let graph = client(Duration::from_secs(10));
        assert_all_ok(&sync(&store, &graph, &tenants, T0, false).await);
        let first: Vec<_> = sim.requests();
        let reference_store = TestStore::sqlite().await;
        let reference = &reference_store.store;
        assert_all_ok(&sync(reference, &graph, &tenants, T0, true).await);
        sim.clear_requests();

        sim.advance(1, 11);
        // half a day later: within full_sync_interval, so incremental
        let outcomes = sync(&store, &graph, &tenants, "2026-08-22T12:00:00Z", false).await;
        assert_all_ok(&outcomes);
        let second: Vec<_> = sim.requests();
        for o in &outcomes {
            assert_eq!(
                o.messages.as_ref().unwrap().mode,
                Mode::Incremental,
                "{}",
                o.tenant
            );
            assert_eq!(
                o.issues.as_ref().unwrap().mode,
                Mode::Incremental,
                "{}",
                o.tenant
            );
        }
        let message_requests =
            |log: &[changedesk_sim::LoggedRequest]| -> Vec<changedesk_sim::LoggedRequest> {
                log.iter()
                    .filter(|r| r.path.ends_with("/serviceAnnouncement/messages"))
                    .cloned()
                    .collect()
            };
        let incremental = message_requests(&second);
        assert!(!incremental.is_empty());
        // a membership listing ($select), then what changed ($filter)
        let filtered = |r: &changedesk_sim::LoggedRequest| {
            r.query
                .contains("$filter=lastModifiedDateTime ge 2026-08-2")
        };
        let members =
            |r: &changedesk_sim::LoggedRequest| r.query.contains("$select=id,lastModifiedDateTime");
        assert!(
            incremental.iter().all(|r| filtered(r) || members(r)),
            "{incremental:?}"
        );
        assert!(incremental.iter().any(filtered) && incremental.iter().any(members));
        assert!(
            message_requests(&first)
                .iter()
                .all(|r| !r.query.contains("$filter"))
        );
        let bytes = |v: &[changedesk_sim::LoggedRequest]| v.iter().map(|r| r.bytes).sum::<u64>();
        assert!(
            bytes(&incremental) * 3 < bytes(&message_requests(&first)),
            "far fewer bytes: {} vs {}",
            bytes(&incremental),
            bytes(&message_requests(&first))
        );
        assert!(
            outcomes
                .iter()
                .map(TenantOutcome::updated_items)
                .sum::<usize>()
                > 0,
            "the day brought edits"
        );

        // the same day through complete listings ends with the same posts and revisions
        assert_all_ok(&sync(reference, &graph, &tenants, "2026-08-22T12:00:00Z", true).await);
        let (a, b) = (projection(&store).await, projection(reference).await);
        let revisions = |p: &Projection| {
            p.iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(revisions(&a), revisions(&b));
        // only a complete listing finds what disappeared; the next full sync catches up
        assert_all_ok(&sync(&store, &graph, &tenants, "2026-08-22T12:00:00Z", true).await);
        assert_eq!(projection(&store).await, b);
        reference_store.finish().await;
        sim.shutdown().await;
    }
);

both!(
    faults_are_survived_and_change_nothing,
    |store: Store| async move {
        let sim = sim(3, 200).await;
        let keys = keys();
        let tenants = tenants(&sim, &keys, &[2]);
        let reference_store = TestStore::sqlite().await;
        assert_all_ok(
            &sync(
                &reference_store.store,
                &client(Duration::from_secs(10)),
                &tenants,
                T0,
                false,
            )
            .await,
        );
        sim.set_faults(Faults {
            fault_429: 0.25,
            retry_after_secs: 0.01,
            fault_503: 0.2,
            truncate: 0.2,
            latency_ms: 2,
            token_lifetime_secs: 3599,
            ..Faults::default()
        })
        .unwrap();
        sim.clear_requests();
        // small pages so each tenant needs many requests, each a chance to fail
        let graph = GraphClient::new(ClientOptions {
            page_size: 20,
            max_retry_time: Duration::from_secs(20),
            backoff_base: Duration::from_millis(2),
            backoff_max: Duration::from_millis(20),
            ..ClientOptions::default()
        })
        .unwrap();
        let outcomes = sync(&store, &graph, &tenants, T0, false).await;
        assert_all_ok(&outcomes);
        let log = sim.requests();
        for status in [429, 503] {
            assert!(
                log.iter().any(|r| r.status == status),
                "a {status} was injected"
            );
        }
        assert!(outcomes.iter().map(|o| o.retries).sum::<u32>() > 0);
        assert_eq!(
            projection(&store).await,
            projection(&reference_store.store).await,
            "the faults changed nothing"
        );
        reference_store.finish().await;
        sim.shutdown().await;
    }
);

both!(an_expired_token_is_replaced, |store: Store| async move {
    let sim = sim(2, 60).await;
    let keys = keys();
    let tenants = tenants(&sim, &keys, &[1]);
    let graph = client(Duration::from_secs(10));
    assert_all_ok(&sync(&store, &graph, &tenants, T0, false).await);
    sim.expire_tokens();
    sim.clear_requests();
    assert_all_ok(&sync(&store, &graph, &tenants, "2026-08-22T01:00:00Z", false).await);
    let log = sim.requests();
    assert!(
        log.iter().any(|r| r.status == 401),
        "the stale token was refused: {log:?}"
    );
    assert_eq!(
        log.iter().filter(|r| r.path.ends_with("/token")).count(),
        2,
        "one new token per tenant"
    );
});

both!(
    a_failing_tenant_never_stops_the_others,
    |store: Store| async move {
        let sim = sim(5, 80).await;
        let keys = keys();
        let tenants = tenants(&sim, &keys, &[]);
        sim.set_tenant_mode("tenant-002", TenantMode::ConsentRevoked)
            .unwrap();
        sim.set_tenant_mode("tenant-003", TenantMode::BadSecret)
            .unwrap();
        sim.set_tenant_mode("tenant-004", TenantMode::NotFound)
            .unwrap();
        sim.set_tenant_mode("tenant-005", TenantMode::Endless503)
            .unwrap();
        let cap = Duration::from_millis(600);
        let started = Instant::now();
        let outcomes = sync(&store, &client(cap), &tenants, T0, false).await;
        assert!(
            started.elapsed() < cap * 4,
            "the endless 503 tenant gave up within its cap: {:?}",
            started.elapsed()
        );
        let by_name: BTreeMap<&str, &TenantOutcome> =
            outcomes.iter().map(|o| (o.tenant.as_str(), o)).collect();
        assert!(by_name["tenant-001"].ok());
        assert_eq!(
            by_name["tenant-002"]
                .error_code
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("authorization_requestdenied")
        );
        assert_eq!(
            by_name["tenant-003"].error_code.as_deref(),
            Some("invalid_client")
        );
        assert!(
            by_name["tenant-004"]
                .error
                .as_deref()
                .unwrap()
                .contains("90002"),
            "{:?}",
            by_name["tenant-004"].error
        );
        assert!(
            by_name["tenant-005"]
                .error
                .as_deref()
                .unwrap()
                .contains("503"),
            "{:?}",
            by_name["tenant-005"].error
        );
        // permanent failures are not retried
        let log = sim.requests();
        for t in ["tenant-002", "tenant-003", "tenant-004"] {
            let n = log
                .iter()
                .filter(|r| r.tenant.as_deref() == Some(t))
                .count();
            assert!(n <= 2, "{t} was retried: {n} requests");
        }
        for t in ["tenant-002", "tenant-003", "tenant-004", "tenant-005"] {
            let row = store
                .tenant(t)
                .await
                .unwrap()
                .expect("the failure is recorded");
            assert!(row.last_sync_error.is_some(), "{t}");
            assert_eq!(row.posts_seen, 0, "{t} stored nothing");
            assert!(
                !row.last_sync_error
                    .unwrap()
                    .contains(changedesk_sim::SIM_CLIENT_SECRET)
            );
        }
        assert_eq!(
            store
                .tenant("tenant-001")
                .await
                .unwrap()
                .unwrap()
                .posts_visible as usize,
            sim_view(&sim, 0).len()
        );
    }
);

both!(
    a_failed_or_truncated_listing_never_marks_anything_gone,
    |store: Store| async move {
        let sim = sim(2, 80).await;
        let keys = keys();
        let tenants = tenants(&sim, &keys, &[]);
        assert_all_ok(
            &sync(
                &store,
                &client(Duration::from_secs(10)),
                &tenants,
                T0,
                false,
            )
            .await,
        );
        let before = projection(&store).await;
        // every page arrives cut short: the full listing never completes
        sim.set_faults(Faults {
            truncate: 1.0,
            ..Faults::default()
        })
        .unwrap();
        sim.set_corpus_file_items(Vec::new());
        let outcomes = sync(
            &store,
            &client(Duration::from_millis(300)),
            &tenants,
            "2026-08-23T00:00:00Z",
            true,
        )
        .await;
        assert!(outcomes.iter().all(|o| !o.ok()), "{outcomes:?}");
        assert_eq!(projection(&store).await, before, "nothing marked gone");
        assert_eq!(store.counts().await.unwrap().gone_links, 0);
        // and an empty but complete listing does mark them gone
        sim.set_faults(Faults::default()).unwrap();
        assert_all_ok(
            &sync(
                &store,
                &client(Duration::from_secs(10)),
                &tenants,
                "2026-08-24T00:00:00Z",
                true,
            )
            .await,
        );
        let active = store
            .list_messages(&MessageFilter {
                state: Some(changedesk_store::PostState::Active),
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            active.is_empty(),
            "the simulator now serves no posts: all gone"
        );
    }
);

#[tokio::test]
async fn a_dry_run_stores_nothing() {
    let sim = sim(2, 40).await;
    let keys = keys();
    let tenants = tenants(&sim, &keys, &[]);
    let t = TestStore::sqlite().await;
    let req = SyncRequest {
        dry_run: true,
        ..request(T0, false)
    };
    let outcomes = sync_tenants(
        &t.store,
        &client(Duration::from_secs(5)),
        &tenants,
        &req,
        Arc::new(Quiet),
    )
    .await;
    assert_all_ok(&outcomes);
    assert!(
        outcomes
            .iter()
            .all(|o| o.fetched_items() > 0 && o.messages.as_ref().unwrap().stored.is_none())
    );
    assert_eq!(
        t.store.counts().await.unwrap(),
        changedesk_store::Counts::default()
    );
    t.finish().await;
}

/// A new post dated two days before `T0` (older than what the first sync
/// listed), added to the simulator's corpus: Graph's late listing. Returns
/// its id and the tenants (by index) that see it.
fn add_late_post(sim: &SimHandle) -> (String, Vec<usize>) {
    let mut corpus = (*sim.corpus()).clone();
    let mut post = corpus.messages[0].clone();
    let taken: BTreeSet<String> = corpus
        .messages
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect();
    // an id that the first tenant sees (visibility is drawn from the id)
    for n in 9_000_000u64.. {
        let id = format!("MC{n}");
        if taken.contains(&id) {
            continue;
        }
        post["id"] = serde_json::json!(id);
        post["title"] = serde_json::json!(format!("Listed late {n}"));
        post["startDateTime"] = serde_json::json!("2026-08-20T00:00:00Z");
        post["lastModifiedDateTime"] = serde_json::json!("2026-08-20T00:01:00Z");
        let mut with = corpus.clone();
        with.messages.push(post.clone());
        let seen: Vec<usize> = (0..sim.tenants().len())
            .filter(|t| {
                changedesk_sim::tenant_messages(&with, *t)
                    .iter()
                    .any(|m| m["id"] == post["id"])
            })
            .collect();
        if seen.contains(&0) {
            corpus = with;
            sim.replace_corpus(corpus);
            return (id, seen);
        }
    }
    unreachable!()
}

fn request_with(now: &str, membership_check: bool) -> SyncRequest {
    SyncRequest {
        settings: SyncSettings {
            membership_check,
            ..SyncSettings::default()
        },
        ..request(now, false)
    }
}

/// Which tenants the archive links `id` to, visible.
async fn linked(store: &Store, id: &str) -> Vec<String> {
    match store.get_message(id).await {
        Ok(p) => p
            .tenants
            .iter()
            .filter(|t| t.visible)
            .map(|t| t.name.clone())
            .collect(),
        Err(_) => Vec::new(),
    }
}

both!(
    a_post_listed_late_is_archived_by_the_next_incremental_sync,
    |store: Store| async move {
        let sim = sim(3, 150).await;
        let keys = keys();
        let tenants = tenants(&sim, &keys, &[]);
        let graph = client(Duration::from_secs(10));
        assert_all_ok(&sync(&store, &graph, &tenants, T0, false).await);
        let (late, seen_by) = add_late_post(&sim);
        let names: Vec<String> = seen_by.iter().map(|t| tenants[*t].name.clone()).collect();

        // the incremental listing alone never asks for it
        let go = |now: &str, check: bool| {
            let (store, graph, tenants) = (store.clone(), graph.clone(), tenants.clone());
            let r = request_with(now, check);
            async move { sync_tenants(&store, &graph, &tenants, &r, Arc::new(Quiet)).await }
        };
        let outcomes = go("2026-08-22T06:00:00Z", false).await;
        assert_all_ok(&outcomes);
        assert!(
            outcomes
                .iter()
                .all(|o| o.messages.as_ref().unwrap().mode == Mode::Incremental)
        );
        assert_eq!(linked(&store, &late).await, Vec::<String>::new());

        // the membership check finds it and reads it by id
        sim.clear_requests();
        let outcomes = go("2026-08-22T06:15:00Z", true).await;
        assert_all_ok(&outcomes);
        for (t, o) in outcomes.iter().enumerate() {
            let m = o.messages.as_ref().unwrap();
            assert_eq!(m.mode, Mode::Incremental, "{}", o.tenant);
            assert_eq!(m.late, usize::from(seen_by.contains(&t)), "{}", o.tenant);
        }
        let mut got = linked(&store, &late).await;
        got.sort();
        assert_eq!(got, names);
        let log = sim.requests();
        assert!(
            log.iter().any(|r| r.path.ends_with("/messages")
                && r.query.contains("$select=id,lastModifiedDateTime")),
            "{log:?}"
        );
        assert!(
            log.iter()
                .any(|r| r.path.ends_with(&format!("/messages/{late}"))),
            "{log:?}"
        );
        // a membership listing is a small part of a complete one
        let select_bytes: u64 = log
            .iter()
            .filter(|r| r.query.contains("$select"))
            .map(|r| r.bytes)
            .sum();
        let complete = sim_view(&sim, 0).len() as u64;
        assert!(
            select_bytes < complete * 300,
            "{select_bytes} bytes for {complete} posts"
        );

        // nothing is late any more: no reads by id
        sim.clear_requests();
        let outcomes = go("2026-08-22T06:30:00Z", true).await;
        assert_all_ok(&outcomes);
        assert!(
            outcomes
                .iter()
                .all(|o| o.messages.as_ref().unwrap().late == 0)
        );
        assert!(
            !sim.requests()
                .iter()
                .any(|r| r.path.contains("/messages/MC"))
        );
        sim.shutdown().await;
    }
);

both!(
    membership_works_whether_graph_honours_ignores_or_refuses_select,
    |store: Store| async move {
        for select in [
            changedesk_sim::SelectMode::Ignore,
            changedesk_sim::SelectMode::Refuse,
        ] {
            let sim = sim(2, 80).await;
            let keys = keys();
            let tenants = tenants(&sim, &keys, &[]);
            let graph = client(Duration::from_secs(10));
            let fresh = TestStore::sqlite().await;
            let store = if select == changedesk_sim::SelectMode::Ignore {
                store.clone()
            } else {
                fresh.store.clone()
            };
            assert_all_ok(&sync(&store, &graph, &tenants, T0, false).await);
            sim.set_faults(Faults {
                select,
                ..Faults::default()
            })
            .unwrap();
            let (late, seen_by) = add_late_post(&sim);
            let r = request_with("2026-08-22T06:00:00Z", true);
            let outcomes = sync_tenants(&store, &graph, &tenants, &r, Arc::new(Quiet)).await;
            assert_all_ok(&outcomes);
            // ignored: the whole items are a complete listing; refused: a
            // complete listing stands in (at most hourly)
            for o in &outcomes {
                assert_eq!(
                    o.messages.as_ref().unwrap().mode,
                    Mode::Full,
                    "{select:?} {}",
                    o.tenant
                );
            }
            assert_eq!(
                linked(&store, &late).await.len(),
                seen_by.len(),
                "{select:?}"
            );
            assert_eq!(
                graph.select_support(&tenants[0]).unwrap(),
                match select {
                    changedesk_sim::SelectMode::Ignore => changedesk_graph::SelectSupport::Ignored,
                    _ => changedesk_graph::SelectSupport::Refused,
                }
            );
            // within the hour: incremental, without asking for $select again
            sim.clear_requests();
            let r = request_with("2026-08-22T06:20:00Z", true);
            let outcomes = sync_tenants(&store, &graph, &tenants, &r, Arc::new(Quiet)).await;
            assert_all_ok(&outcomes);
            for o in &outcomes {
                assert_eq!(
                    o.messages.as_ref().unwrap().mode,
                    Mode::Incremental,
                    "{select:?}"
                );
            }
            assert!(
                !sim.requests().iter().any(|r| r.query.contains("$select")),
                "{select:?}"
            );
            sim.shutdown().await;
            fresh.finish().await;
        }
    }
);
