//! `changedesk roadmap`: the Microsoft 365 roadmap read into the archive
//! (`import`), its items (`list`) and one item's history (`show`).

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use changedesk_core::roadmap::{RoadmapFeed, parse_roadmap_json};
use changedesk_store::{OpenMode, RoadmapQuery};

use crate::app::{self, App};
use crate::cli::{Format, RoadmapCommand};
use crate::commands::setup::admin_actor;
use crate::output;

/// Archives a read of the roadmap and says what it did (and which items
/// it skipped); a read without one item is refused, never taken as every
/// item gone.
async fn archive(
    app: &App,
    feed: &RoadmapFeed,
    whole: bool,
    source: &str,
    actor: &str,
    format: Format,
) -> Result<ExitCode> {
    for s in &feed.skipped {
        eprintln!(
            "warning: {source}: item {}{} skipped: {}",
            s.index,
            s.id.as_ref()
                .map(|i| format!(" (id {i})"))
                .unwrap_or_default(),
            s.reason
        );
    }
    if feed.items.is_empty() {
        bail!("{source} holds no roadmap item: nothing imported");
    }
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    let r = store
        .import_roadmap(&feed.items, whole, source, actor, now)
        .await;
    store.close().await;
    let r = r?;
    if format != Format::Table {
        output::print_one(&r)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "roadmap from {source}: {} new, {} changed, {} unchanged, {} gone from the feed, {} back{}",
        r.added.len(),
        r.changed.len(),
        r.unchanged,
        r.gone.len(),
        r.returned.len(),
        if feed.skipped.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", feed.skipped.len())
        }
    );
    for (id, changes) in r.changed.iter().take(20) {
        let what: Vec<String> = changes.iter().map(ToString::to_string).collect();
        println!("  {id}: {}", what.join("; "));
    }
    if r.changed.len() > 20 {
        println!(
            "  … and {} more (`changedesk roadmap show ID`)",
            r.changed.len() - 20
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run(app: &App, cmd: RoadmapCommand) -> Result<ExitCode> {
    match cmd {
        RoadmapCommand::Import {
            file,
            partial,
            format,
            who,
        } => {
            output::not_csv(format)?;
            let actor = admin_actor(&who)?;
            let (source, bytes) = super::import::read_input(&file)?;
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow!("{source} is not UTF-8 text: the roadmap is JSON"))?;
            let feed = parse_roadmap_json(&text).map_err(|e| anyhow!("{source}: {e}"))?;
            archive(app, &feed, !partial, &source, &actor, format).await
        }
        RoadmapCommand::Sync { url, format, who } => {
            output::not_csv(format)?;
            let actor = admin_actor(&who)?;
            let url = url.unwrap_or_else(|| changedesk_feeds::ROADMAP_URL.to_string());
            let client = changedesk_feeds::FeedClient::new(std::time::Duration::from_secs(60))?;
            let Some((feed, _)) = client.roadmap(&url, &Default::default()).await? else {
                println!("roadmap from {url}: not modified");
                return Ok(ExitCode::SUCCESS);
            };
            archive(app, &feed, true, &url, &actor, format).await
        }
        RoadmapCommand::List {
            status,
            product,
            search,
            include_gone,
            limit,
            format,
        } => {
            if !(1..=changedesk_store::MAX_ROADMAP_PAGE).contains(&limit) {
                bail!("--limit is 1 to {}", changedesk_store::MAX_ROADMAP_PAGE);
            }
            let query = RoadmapQuery {
                statuses: status,
                product,
                text: search,
                include_gone,
                ..Default::default()
            };
            let store = app.store(OpenMode::ReadOnly).await?;
            let r = store.roadmap_items(&query, limit).await;
            store.close().await;
            let (items, total) = r?;
            if format != Format::Table {
                output::print_list(
                    &items,
                    format,
                    &[
                        "id",
                        "title",
                        "status",
                        "release",
                        "preview",
                        "products",
                        "revision",
                        "last_seen",
                    ],
                )?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut t = output::table(&["Id", "Release", "Status", "Products", "Title"]);
            for i in &items {
                t.add_row(vec![
                    i.item.id.to_string(),
                    i.item.release.clone().unwrap_or_default(),
                    i.item.status.to_string(),
                    output::clip(&i.item.products.join(", "), 30),
                    output::clip(&i.item.title, 70),
                ]);
            }
            println!("{t}");
            println!("{} of {total} items", items.len());
            Ok(ExitCode::SUCCESS)
        }
        RoadmapCommand::Show { id, format } => {
            output::not_csv(format)?;
            let store = app.store(OpenMode::ReadOnly).await?;
            let r = store.roadmap_item(id).await;
            store.close().await;
            let Some((item, revisions)) = r? else {
                bail!(
                    "no roadmap item {id} in the archive (`changedesk roadmap import FILE` reads one in)"
                );
            };
            if format != Format::Table {
                output::print_one(&serde_json::json!({ "item": item, "revisions": revisions }))?;
                return Ok(ExitCode::SUCCESS);
            }
            let i = &item.item;
            println!("{} — {}", i.id, i.title);
            println!("status:   {}", i.status);
            println!("release:  {}", i.release.as_deref().unwrap_or("-"));
            println!("preview:  {}", i.preview.as_deref().unwrap_or("-"));
            println!("products: {}", i.products.join(", "));
            println!("link:     {}", i.link());
            if let Some(gone) = item.gone_since {
                println!("gone from the feed since {}", gone.human());
            }
            println!("\n{}\n", i.description);
            println!("revisions:");
            for r in &revisions {
                let what: Vec<String> = r.changes.iter().map(ToString::to_string).collect();
                println!(
                    "  {} {}: {}",
                    r.revision,
                    r.seen_at.human(),
                    if what.is_empty() {
                        "first read".to_string()
                    } else {
                        what.join("; ")
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
