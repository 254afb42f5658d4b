//! `changedesk messages list|show`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use changedesk_core::Timestamp;
use changedesk_core::diff::message_diff;
use changedesk_core::duration::parse_duration;
use changedesk_core::graph::TenantView;
use changedesk_store::{MessageFilter, OpenMode, PostDetail, PostState, Store};

use crate::app::{self, App};
use crate::cli::{Format, MessagesCommand, MessagesListArgs, MessagesShowArgs};
use crate::output::{self, clip, date, when, yes_no};
use changedesk_server::export;

pub async fn run(app: &App, cmd: MessagesCommand) -> Result<ExitCode> {
    let store = app.store(OpenMode::ReadOnly).await?;
    let r = match cmd {
        MessagesCommand::List(args) => match app.check_tenant(&store, args.tenant.as_deref()).await
        {
            Ok(()) => list(&store, &args).await,
            Err(e) => Err(e),
        },
        MessagesCommand::Show(args) => match output::not_csv(args.format) {
            Ok(()) => show(&store, &args).await,
            Err(e) => Err(e),
        },
    };
    store.close().await;
    r
}

pub fn parse_state(s: &Option<String>) -> Result<Option<PostState>> {
    s.as_deref()
        .map(|s| {
            PostState::parse(s)
                .with_context(|| format!("unknown state `{s}`: expected active or expired"))
        })
        .transpose()
}

fn parse_date(flag: &str, s: &Option<String>) -> Result<Option<Timestamp>> {
    s.as_deref()
        .map(|s| Timestamp::parse(s).with_context(|| flag.to_string()))
        .transpose()
}

fn filter(args: &MessagesListArgs) -> Result<MessageFilter> {
    let mut f = MessageFilter {
        tenant: args.tenant.clone(),
        services: args.services.clone(),
        category: args.category.clone(),
        severity: args.severity.clone(),
        major: args.major.then_some(true),
        act_by_from: parse_date("--act-by-after", &args.act_by_after)?,
        act_by_to: parse_date("--act-by-before", &args.act_by_before)?,
        state: parse_state(&args.state)?,
        text: args.text.clone().filter(|t| !t.trim().is_empty()),
        limit: args.limit,
    };
    if let Some(w) = &args.act_by_within {
        let d = parse_duration(w).context("--act-by-within")?;
        let now = app::now()?;
        f.act_by_from = Some(f.act_by_from.map_or(now, |t| t.max(now)));
        let end = now.saturating_add(d);
        f.act_by_to = Some(f.act_by_to.map_or(end, |t| t.min(end)));
    }
    if let Some(l) = f.limit
        && l < 0
    {
        bail!("--limit must be zero or more");
    }
    Ok(f)
}

async fn list(store: &Store, args: &MessagesListArgs) -> Result<ExitCode> {
    let posts = store.list_messages(&filter(args)?).await?;
    match args.format {
        Format::Table => {
            let mut t = output::table(&[
                "ID", "Title", "Services", "Category", "Severity", "Major", "Act by", "Modified",
                "Rev", "State",
            ]);
            for p in &posts {
                t.add_row(vec![
                    p.id.clone(),
                    clip(&p.title, 70),
                    clip(&p.services.join(", "), 30),
                    p.category.clone(),
                    p.severity.clone(),
                    yes_no(p.is_major).to_string(),
                    date(&p.act_by),
                    date(&p.last_modified),
                    p.revision.to_string(),
                    format!(
                        "{} ({}/{})",
                        p.state.as_str(),
                        p.tenants_visible,
                        p.tenants_seen
                    ),
                ]);
            }
            if !posts.is_empty() {
                println!("{t}");
            }
            println!(
                "{} post{}",
                posts.len(),
                if posts.len() == 1 { "" } else { "s" }
            );
        }
        Format::Csv => {
            // with each post's work item (as in force for --tenant), its
            // decision and the reason given
            let all: Vec<&changedesk_store::PostSummary> = posts.iter().collect();
            let tenant = args
                .tenant
                .as_deref()
                .map(|t| t.trim().to_ascii_lowercase());
            let rows = export::post_records(store, &all, tenant.as_deref()).await?;
            output::print_csv(export::POST_HEADERS, rows)?;
        }
        f => output::print_json(&posts, f)?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(store: &Store, args: &MessagesShowArgs) -> Result<ExitCode> {
    let id = args.id.trim().to_ascii_uppercase();
    let d = store.get_message(&id).await?;
    if args.format != Format::Table {
        output::print_one(&d)?;
        return Ok(ExitCode::SUCCESS);
    }
    print_post(&d);
    if args.revisions || args.diff {
        println!("\nRevisions:");
        for r in &d.revisions {
            println!(
                "  {:>3}  modified {}  recorded {}{}",
                r.revision,
                when(&r.last_modified),
                r.recorded_at.human(),
                r.tenant
                    .as_deref()
                    .map(|t| format!("  via {t}"))
                    .unwrap_or_default()
            );
            for c in r.changes.iter().filter(|c| c.noteworthy()) {
                println!("         {}", c.readable());
            }
        }
    }
    if args.diff {
        let current = d.summary.revision;
        let pairs: Vec<(i64, i64)> = match (args.from, args.to) {
            (None, None) => (1..current).map(|r| (r, r + 1)).collect(),
            (from, to) => {
                let to = to.unwrap_or(current);
                let from = from.unwrap_or(to - 1);
                if from >= to {
                    bail!("--from must name an older revision than --to");
                }
                vec![(from, to)]
            }
        };
        if pairs.is_empty() {
            println!("\n{id} has one revision: there is nothing to compare.");
        }
        for (a, b) in pairs {
            let old = store.message_revision(&id, a).await?;
            let new = store.message_revision(&id, b).await?;
            println!();
            print!(
                "{}",
                message_diff(
                    &old.content,
                    &new.content,
                    &format!("{id} revision {a}"),
                    &format!("{id} revision {b}")
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_post(d: &PostDetail) {
    let c = &d.content;
    let s = &d.summary;
    println!("{}  {}", c.id, c.title);
    println!(
        "State: {} ({} of {} tenants)   Revision {}   Last modified {}   First seen {}",
        s.state.as_str(),
        s.tenants_visible,
        s.tenants_seen,
        s.revision,
        when(&c.last_modified),
        s.first_seen.human()
    );
    println!(
        "Category: {}   Severity: {}   Major change: {}",
        c.category,
        c.severity,
        yes_no(c.is_major)
    );
    println!("Services: {}", c.services.join(", "));
    println!("Tags: {}", c.tags.join(", "));
    println!(
        "Start: {}   End: {}   Act by: {}",
        date(&c.start),
        date(&c.end),
        date(&c.act_by)
    );
    // the rollout as the body tells it (issue 20), stored with the revision
    let timeline = &d.timeline;
    if !timeline.phases.is_empty() {
        println!("Rollout (as the post tells it):");
        for p in &timeline.phases {
            println!("  {} · {}: {}", p.ring.label(), p.cloud.label(), p.when());
        }
        for w in &timeline.previously {
            println!(
                "  moved: {} · {}: {}",
                w.ring.label(),
                w.cloud.label(),
                w.text
            );
        }
    }
    // what Microsoft says the same to every tenant comes from any link's details
    let view = d
        .tenants
        .iter()
        .find(|t| t.visible)
        .or(d.tenants.first())
        .map(|t| TenantView {
            details: t.details.clone(),
        })
        .unwrap_or_default();
    let roadmap = view.roadmap_ids();
    if !roadmap.is_empty() {
        println!(
            "Roadmap: {}",
            roadmap
                .iter()
                .map(|id| format!(
                    "{id} (https://www.microsoft.com/microsoft-365/roadmap?featureid={id})"
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let platforms = view.platforms();
    if !platforms.is_empty() {
        println!("Platforms: {}", platforms.join(", "));
    }
    for (kind, url) in view.links() {
        println!("{kind}: {url}");
    }
    if let Some(summary) = view.summary() {
        println!("Summary: {summary}");
    }
    println!("\nTenants:");
    for t in &d.tenants {
        let state = if t.visible {
            "visible".to_string()
        } else {
            format!("gone since {}", when(&t.gone_at))
        };
        let lag = if t.seen_last_modified != c.last_modified {
            format!(
                "   still shows the version of {}",
                when(&t.seen_last_modified)
            )
        } else {
            String::new()
        };
        println!(
            "  {:<20} {:<28} first seen {}   last seen {}{lag}",
            t.name,
            state,
            t.first_seen.human(),
            t.last_seen.human()
        );
        let tv = TenantView {
            details: t.details.clone(),
        };
        match tv.rollout() {
            Ok(entries) if !entries.is_empty() => {
                let parts: Vec<String> = entries
                    .iter()
                    .map(|e| format!("{} {}: {}", e.roadmap_id, e.platform, e.status))
                    .collect();
                println!("  {:<20} rollout: {}", "", parts.join("; "));
            }
            Ok(_) => {}
            Err(e) => println!("  {:<20} rollout: unreadable ({e})", ""),
        }
    }
    println!("\n{}", d.body_text.trim_end());
}
