//! `changedesk import FILE --tenant NAME`.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use changedesk_core::graph::{
    HealthOverview, Incident, ListingKind, Message, detect_kind, listing_document, listing_items,
    parse_listing,
};
use changedesk_store::{ImportOptions, ImportSummary, OpenMode};

use crate::app::{self, App};
use crate::cli::{Format, ImportArgs, ImportKind};
use crate::commands::setup::{self, RulesRun};
use crate::output;

/// How many rejected items are listed one by one.
const SHOW_REJECTED: usize = 20;

/// A file's bytes, or standard input's for `-`, with how to name it in
/// messages.
pub(crate) fn read_input(file: &std::path::Path) -> Result<(String, Vec<u8>)> {
    let source = file.display().to_string();
    let bytes = if source == "-" {
        let mut b = Vec::new();
        std::io::stdin()
            .read_to_end(&mut b)
            .context("cannot read standard input")?;
        b
    } else {
        std::fs::read(file).with_context(|| format!("cannot read {source}"))?
    };
    Ok((source, bytes))
}

pub async fn run(app: &App, args: &ImportArgs) -> Result<ExitCode> {
    // refused before anything is loaded
    output::not_csv(args.format)?;
    changedesk_store::validate_tenant_name(&args.tenant)?;
    let (source, bytes) = read_input(&args.file)?;
    // UTF-8 with or without a byte order mark, or UTF-16 as Windows
    // PowerShell writes it
    let doc = listing_document(&bytes).map_err(|e| anyhow::anyhow!("{source} {e}"))?;
    let items = listing_items(&doc).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    let kind = match args.kind {
        Some(ImportKind::Messages) => ListingKind::Messages,
        Some(ImportKind::Issues) => ListingKind::Issues,
        Some(ImportKind::Health) => ListingKind::HealthOverviews,
        None if items.is_empty() => bail!(
            "{source} holds an empty listing: say what it is with --kind messages|issues|health \
             (a complete empty listing marks everything the tenant had as gone)"
        ),
        None => detect_kind(items).with_context(|| {
            format!("cannot tell whether {source} holds messages, issues or healthOverviews: pass --kind")
        })?,
    };
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    if let Err(e) = check_tenant(app, &store, args).await {
        store.close().await;
        return Err(e);
    }
    if let Err(e) = setup::seed(app, &store, now).await {
        store.close().await;
        return Err(e);
    }
    let mut opts = ImportOptions {
        complete: !args.partial,
        now,
        source: source.clone(),
        rejected: 0,
    };
    macro_rules! load {
        ($parse:path, $import:ident) => {{
            let listing = parse_listing(items, $parse);
            report_rejected(&source, &listing.rejected, &mut opts);
            store.$import(&args.tenant, &listing.items, &opts).await?
        }};
    }
    let summary = match kind {
        ListingKind::Messages => load!(Message::from_graph, import_messages),
        ListingKind::Issues => load!(Incident::from_graph, import_incidents),
        ListingKind::HealthOverviews => load!(HealthOverview::from_graph, import_health),
    };
    for f in &summary.failed {
        eprintln!(
            "error: {source}: {} of tenant {} could not be stored ({}); the rest of the listing was",
            f.id,
            args.tenant,
            changedesk_core::text::escape_controls(&f.error, false)
        );
    }
    // the rules triage what the listing brought (and anything an earlier,
    // interrupted run left)
    let rules = setup::run_rules(app, &store, now).await;
    store.close().await;
    let mut code = if summary.rejected > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    };
    let rules = match rules {
        Ok(r) => Some(r),
        Err(e) => {
            eprintln!("error: the posts were loaded, but the rules were not applied: {e:#}");
            code = ExitCode::FAILURE;
            None
        }
    };
    print_summary(&summary, rules.as_ref(), kind, args.format)?;
    Ok(code)
}

/// A listing goes to a configured tenant or one the archive knows; a new
/// name needs `--create-tenant` (a typo must not start a second archive).
async fn check_tenant(app: &App, store: &changedesk_store::Store, args: &ImportArgs) -> Result<()> {
    let name = args.tenant.as_str();
    if app.config.tenants.iter().any(|t| t.name == name) || store.tenant(name).await?.is_some() {
        return Ok(());
    }
    if args.create_tenant {
        eprintln!("note: tenant `{name}` is new to this archive: it is created");
        return Ok(());
    }
    let mut known: Vec<String> = app.config.tenants.iter().map(|t| t.name.clone()).collect();
    for t in store.tenants().await? {
        if !known.contains(&t.name) {
            known.push(t.name);
        }
    }
    let known = if known.is_empty() {
        "none yet".to_string()
    } else {
        let more = known.len().saturating_sub(20);
        let mut list = known.into_iter().take(20).collect::<Vec<_>>().join(", ");
        if more > 0 {
            list.push_str(&format!(" and {more} more"));
        }
        list
    };
    bail!(
        "tenant `{name}` is neither configured nor in the archive (known: {known}); check the name, \
         or pass --create-tenant to start archiving it"
    )
}

fn report_rejected(
    source: &str,
    rejected: &[changedesk_core::graph::ParseError],
    opts: &mut ImportOptions,
) {
    if rejected.is_empty() {
        return;
    }
    for e in rejected.iter().take(SHOW_REJECTED) {
        eprintln!("warning: {source}: {e}");
    }
    if rejected.len() > SHOW_REJECTED {
        eprintln!("warning: … and {} more", rejected.len() - SHOW_REJECTED);
    }
    if opts.complete {
        eprintln!(
            "warning: {} item{} could not be used, so the listing is loaded as partial: nothing is marked gone",
            rejected.len(),
            if rejected.len() == 1 { "" } else { "s" }
        );
    }
    opts.complete = false;
    opts.rejected = rejected.len();
}

fn print_summary(
    s: &ImportSummary,
    rules: Option<&RulesRun>,
    kind: ListingKind,
    format: Format,
) -> Result<()> {
    match format {
        Format::Table => {
            println!(
                "{}: {} {} ({} listing): {} new, {} updated, {} older than the archive, {} newly linked, {} reappeared, {} gone, {} expired{}{}",
                s.tenant,
                s.items,
                s.kind,
                if s.complete { "complete" } else { "partial" },
                s.new,
                s.updated,
                s.stale,
                s.linked,
                s.reappeared,
                s.gone,
                s.expired,
                if s.duplicates > 0 {
                    format!(", {} duplicate ids dropped", s.duplicates)
                } else {
                    String::new()
                },
                if s.rejected > 0 {
                    format!(", {} rejected", s.rejected)
                } else {
                    String::new()
                },
            );
            if let Some(r) = rules
                && (kind == ListingKind::Messages || r.summary.evaluated > 0)
            {
                println!("{}", setup::rules_line(r));
            }
            Ok(())
        }
        _ => {
            // the import summary's keys, and the rules run under `triage`
            let mut v = serde_json::to_value(s)?;
            if let (Some(o), Some(r)) = (v.as_object_mut(), rules) {
                o.insert("triage".to_string(), setup::run_json(r));
            }
            output::print_one(&v)
        }
    }
}
