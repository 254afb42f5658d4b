//! `changedesk demo`: a tour of the archive with generated tenants, no
//! Microsoft account needed.

use std::process::ExitCode;

use anyhow::Result;
use changedesk_core::Timestamp;
use changedesk_core::graph::{HealthOverview, Incident, Message, parse_listing};
use changedesk_sim::{
    Corpus, CorpusSpec, advance, generate, tenant_health_overviews, tenant_issues, tenant_messages,
    tenant_name,
};
use changedesk_store::{ImportOptions, ImportSummary, MessageFilter, OpenMode, Store};

use crate::app::App;
use crate::cli::DemoArgs;
use crate::output::{self, clip, date};

/// Where the demo writes unless `--database` says otherwise.
pub const DEMO_DATABASE: &str = "changedesk-demo.db";

/// Starts each default demo afresh.
pub fn remove_demo_database() -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{DEMO_DATABASE}{suffix}");
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot remove the previous demo archive {path}: {e}"
                ));
            }
        }
    }
    Ok(())
}

pub async fn run(app: &App, args: &DemoArgs) -> Result<ExitCode> {
    let store = app.store(OpenMode::ReadWrite).await?;
    println!(
        "changedesk demo: {} tenants, about {} posts, archive {}",
        args.tenants,
        args.posts,
        store.location().describe()
    );
    // a week ago, to the minute, so the second round lands on "now"
    let now = crate::app::now()?.as_datetime();
    let week_ago = now
        .replace_second(0)
        .unwrap_or(now)
        .replace_nanosecond(0)
        .unwrap_or(now)
        - time::Duration::days(7);
    let spec = CorpusSpec {
        posts: args.posts,
        issues: args.posts / 20 + 5,
        tenants: args.tenants,
        seed: args.seed,
        base_time: week_ago,
        ..CorpusSpec::default()
    };
    let day0 = generate(&spec);
    println!("\nDay 0: every tenant's complete listing");
    load_all(&store, &day0, args.tenants).await?;
    let week1 = advance(&day0, 7, args.seed);
    println!("\nA week later: Microsoft edited, added and expired posts");
    load_all(&store, &week1, args.tenants).await?;

    let c = store.counts().await?;
    println!(
        "\nThe archive: {} posts ({} expired), {} tenant links ({} gone), {} revisions; {} incidents with {} status changes",
        c.posts,
        c.expired_posts,
        c.post_links,
        c.gone_links,
        c.post_revisions,
        c.incidents,
        c.incident_status_changes
    );
    let recent = store
        .list_messages(&MessageFilter {
            limit: Some(8),
            ..Default::default()
        })
        .await?;
    let mut t = output::table(&["ID", "Title", "Modified", "Rev", "Tenants"]);
    for p in &recent {
        t.add_row(vec![
            p.id.clone(),
            clip(&p.title, 70),
            date(&p.last_modified),
            p.revision.to_string(),
            format!("{}/{}", p.tenants_visible, p.tenants_seen),
        ]);
    }
    println!("{t}");
    let revised = store
        .list_messages(&MessageFilter::default())
        .await?
        .into_iter()
        .find(|p| p.revision > 1);
    let db = format!(" --database {}", app.config.database.redacted());
    println!("\nTry:");
    if let Some(p) = revised {
        println!(
            "  changedesk{db} messages show {} --diff        # what Microsoft changed",
            p.id
        );
    }
    println!(
        "  changedesk{db} messages list --state expired     # kept after Microsoft forgot them"
    );
    println!("  changedesk{db} messages list --major --act-by-within 60d");
    println!("  changedesk{db} incidents list --open");
    println!("  changedesk{db} export messages > archive.jsonl");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn load_all(store: &Store, corpus: &Corpus, tenants: usize) -> Result<()> {
    let now = Timestamp::from_datetime(corpus.spec.base_time);
    for t in 0..tenants {
        let name = tenant_name(t);
        let opts = ImportOptions {
            complete: true,
            now,
            source: "demo".into(),
            rejected: 0,
        };
        let m = parse_listing(&tenant_messages(corpus, t), Message::from_graph);
        let s = store.import_messages(&name, &m.items, &opts).await?;
        let i = parse_listing(&tenant_issues(corpus, t), Incident::from_graph);
        store.import_incidents(&name, &i.items, &opts).await?;
        let h = parse_listing(
            &tenant_health_overviews(corpus, t),
            HealthOverview::from_graph,
        );
        store.import_health(&name, &h.items, &opts).await?;
        print_line(&s);
    }
    Ok(())
}

fn print_line(s: &ImportSummary) {
    println!(
        "  {:<12} {:>5} posts: {:>4} new, {:>3} updated, {:>4} newly linked, {:>3} gone",
        s.tenant, s.items, s.new, s.updated, s.linked, s.gone
    );
}
