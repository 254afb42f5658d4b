//! `changedesk bench-seed` (hidden): fills an empty archive with a generated
//! corpus for the API load benchmark (`bench/load_bench.py`).
//!
//! The corpus comes from the simulator's generator (`changedesk_sim`), each
//! tenant's listing is parsed as a sync parses Graph's answer, and stored
//! with [`Store::import_batch`], the write a sync makes per tenant: the
//! archive holds what production holds (posts stored once, tenant links and
//! details, revisions, the full-text index, runs and sync outcomes). Only
//! the HTTP round trips to Graph are skipped. Generating and parsing the
//! next tenants overlaps with storing the current one.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use changedesk_core::Timestamp;
use changedesk_core::graph::{HealthOverview, Incident, Message, parse_listing};
use changedesk_server::triage::{Triage, apply_rules};
use changedesk_sim::{CorpusSpec, generate, tenant_health_overviews, tenant_issues};
use changedesk_store::{ImportOptions, OpenMode, TenantBatch};
use serde::Serialize;

use crate::app::App;
use crate::cli::BenchSeedArgs;

/// One tenant's listings, parsed, waiting for the writer.
struct Parsed {
    name: String,
    messages: Vec<Message>,
    issues: Vec<Incident>,
    health: Vec<HealthOverview>,
    rejected: usize,
}

/// What was stored, printed as JSON on standard output.
#[derive(Serialize)]
struct Report {
    posts: i64,
    tenants: i64,
    post_links: i64,
    incidents: i64,
    work_items_created: usize,
    /// Work items given tenant exceptions, and how many exceptions.
    items_with_exceptions: usize,
    exceptions: usize,
    generate_seconds: f64,
    store_seconds: f64,
    triage_seconds: f64,
    total_seconds: f64,
}

pub async fn run(app: &App, args: &BenchSeedArgs) -> Result<ExitCode> {
    if args.posts == 0 || args.tenants == 0 {
        bail!("--posts and --tenants must be at least 1");
    }
    if !(args.coverage > 0.0 && args.coverage <= 1.0) {
        bail!(
            "--coverage must be above 0 and at most 1 (the fraction of posts each tenant sees), not {}",
            args.coverage
        );
    }
    let store = app.store(OpenMode::ReadWrite).await?;
    let before = store.counts().await?;
    if before.posts > 0 || before.tenants > 0 {
        store.close().await;
        bail!(
            "{} already holds {} posts and {} tenants: bench-seed fills an empty archive only",
            store.location().describe(),
            before.posts,
            before.tenants
        );
    }
    let spec = CorpusSpec {
        posts: args.posts,
        issues: args.issues.unwrap_or(args.posts / 50 + 5),
        tenants: args.tenants,
        seed: args.seed,
        coverage: args.coverage,
        ..CorpusSpec::default()
    };
    // every instant recorded is the corpus's "now": the same seed gives the
    // same archive, whenever it is run
    let now = Timestamp::from_datetime(spec.base_time);
    let started = Instant::now();
    let corpus = Arc::new(
        tokio::task::spawn_blocking(move || generate(&spec))
            .await
            .context("the corpus generator failed")?,
    );
    let generate_seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "generated {} posts and {} issues in {generate_seconds:.1} s",
        corpus.messages.len(),
        corpus.issues.len()
    );

    // tenants are generated and parsed on a blocking thread while the
    // writer stores the ones before
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Parsed>(4);
    let tenants = args.tenants;
    let producer = {
        let corpus = corpus.clone();
        tokio::task::spawn_blocking(move || {
            for t in 0..tenants {
                let raw = changedesk_sim::tenant_messages(&corpus, t);
                let messages = parse_listing(&raw, Message::from_graph);
                let issues = parse_listing(&tenant_issues(&corpus, t), Incident::from_graph);
                let health = parse_listing(
                    &tenant_health_overviews(&corpus, t),
                    HealthOverview::from_graph,
                );
                let parsed = Parsed {
                    name: changedesk_sim::tenant_name(t),
                    rejected: messages.rejected.len()
                        + issues.rejected.len()
                        + health.rejected.len(),
                    messages: messages.items,
                    issues: issues.items,
                    health: health.items,
                };
                if tx.blocking_send(parsed).is_err() {
                    // the writer stopped (an error): it reports why
                    return;
                }
            }
        })
    };
    let store_started = Instant::now();
    let opts = |rejected: usize| ImportOptions {
        complete: rejected == 0,
        now,
        source: "bench-seed (generated)".to_string(),
        rejected,
    };
    let mut done = 0usize;
    let mut stored = Ok(());
    while let Some(p) = rx.recv().await {
        if p.rejected > 0 {
            stored = Err(anyhow::anyhow!(
                "{}: {} generated items could not be parsed",
                p.name,
                p.rejected
            ));
            break;
        }
        let batch = TenantBatch {
            messages: Some((&p.messages, opts(0))),
            issues: Some((&p.issues, opts(0))),
            health: Some((&p.health, opts(0))),
            at: now,
            record: Some(None),
            digests: None,
            issue_digests: None,
        };
        if let Err(e) = store.import_batch(&p.name, &batch).await {
            stored = Err(anyhow::Error::new(e).context(format!("cannot store {}", p.name)));
            break;
        }
        done += 1;
        if done.is_multiple_of(100) || done == tenants {
            eprintln!(
                "stored {done}/{tenants} tenants in {:.1} s",
                store_started.elapsed().as_secs_f64()
            );
        }
    }
    drop(rx);
    let _ = producer.await;
    if let Err(e) = stored {
        store.close().await;
        return Err(e);
    }
    let store_seconds = store_started.elapsed().as_secs_f64();

    let mut work_items_created = 0;
    let triage_started = Instant::now();
    if args.triage {
        crate::commands::setup::seed(app, &store, now).await?;
        let triage = Triage::load(&store, app.config.triage.reopen.clone())
            .await
            .context("cannot load the rules")?
            .with_thresholds(app.config.notify.thresholds);
        let summary = apply_rules(&store, &triage, now, false)
            .await
            .context("the rules failed")?;
        work_items_created = summary.created;
        eprintln!(
            "triaged {} posts in {:.1} s",
            summary.evaluated,
            triage_started.elapsed().as_secs_f64()
        );
    }
    let triage_seconds = triage_started.elapsed().as_secs_f64();
    let (items_with_exceptions, exceptions) = if args.exceptions > 0 {
        match seed_exceptions(&store, args.exceptions, now).await {
            Ok(n) => n,
            Err(e) => {
                store.close().await;
                return Err(e);
            }
        }
    } else {
        (0, 0)
    };
    let after = store.counts().await?;
    store.close().await;
    let report = Report {
        posts: after.posts,
        tenants: after.tenants,
        post_links: after.post_links,
        incidents: after.incidents,
        work_items_created,
        items_with_exceptions,
        exceptions,
        generate_seconds,
        store_seconds,
        triage_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}

/// Gives `count` work items (spread over the archive) exceptions for 10 to
/// 500 of the tenants that see each, as people would make them: closed for
/// some, in progress for others, another owner, not applicable. Returns the
/// items changed and the exceptions made.
async fn seed_exceptions(
    store: &changedesk_store::Store,
    count: usize,
    now: Timestamp,
) -> Result<(usize, usize)> {
    use changedesk_core::triage::{Action, Actor, Decision, transition, transition_for_tenants};
    let started = Instant::now();
    let items = store
        .work_items(&changedesk_store::ItemFilter::default())
        .await?;
    if items.is_empty() {
        bail!("no work items to give exceptions to");
    }
    let step = (items.len() / count.min(items.len())).max(1);
    let owners = store.owners().await?;
    let actor = Actor::Person("bench".into());
    let (mut changed, mut made) = (0, 0);
    for (n, row) in items.iter().step_by(step).take(count).enumerate() {
        let id = &row.stored.item.message_id;
        let tenants = store.post_tenant_names(id).await?;
        // 10 … 500 tenants, growing along the items
        let want = 10 + n * 490 / count.max(2).saturating_sub(1).max(1);
        let chosen: Vec<String> = tenants.into_iter().take(want.min(500)).collect();
        if chosen.is_empty() {
            continue;
        }
        let mut item = row.stored.item.clone();
        let mut entries = Vec::new();
        // the shared item triaged, then each quarter of the tenants its own way
        if item.state == changedesk_core::triage::State::New {
            let t = transition(&item, Action::Triage, &actor, now)?;
            entries.extend(t.entries);
            item = t.item;
        }
        let quarter = chosen.len().div_ceil(4);
        for (k, group) in chosen.chunks(quarter).enumerate() {
            let action = match k {
                0 => Action::Close {
                    decision: Decision::Actioned,
                    reason: None,
                },
                1 => Action::Start,
                2 => match owners.get(n % owners.len().max(1)) {
                    Some(o) => Action::Assign {
                        owner: Some(o.name.clone()),
                    },
                    None => Action::Start,
                },
                _ => Action::Dismiss {
                    reason: "not applicable for this customer".into(),
                },
            };
            let t = transition_for_tenants(&item, action, group, &actor, now)?;
            entries.extend(t.transition.entries);
            item = t.transition.item;
        }
        made += item.overrides.len();
        store
            .save_work_item(&changedesk_store::ItemSave {
                item: &item,
                expected_version: Some(row.stored.version),
                evaluated_revision: None,
                entries: &entries,
                notify: &[],
                events: &[],
                at: now,
            })
            .await?;
        changed += 1;
    }
    eprintln!(
        "gave {changed} work items {made} tenant exceptions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok((changed, made))
}
