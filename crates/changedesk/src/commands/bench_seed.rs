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
    let after = store.counts().await?;
    store.close().await;
    let report = Report {
        posts: after.posts,
        tenants: after.tenants,
        post_links: after.post_links,
        incidents: after.incidents,
        work_items_created,
        generate_seconds,
        store_seconds,
        triage_seconds,
        total_seconds: started.elapsed().as_secs_f64(),
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}
