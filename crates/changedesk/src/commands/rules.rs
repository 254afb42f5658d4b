//! `changedesk rules list|add|remove|test|simulate|apply`.

use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use changedesk_core::Timestamp;
use changedesk_core::rules::{ActionSpec, Explanation, OwnerTarget, Priority, RuleSet, RuleSpec};
use changedesk_core::triage::LogEntry;
use changedesk_server::triage::{Triage, apply_rules};
use changedesk_store::{Candidate, OpenMode, RuleRow, Store, StoreError};
use serde::Serialize;

use crate::app::{self, App};
use crate::cli::{Format, RuleAddArgs, RulesCommand};
use crate::commands::setup::{self, Setup, admin_actor, post_id, spec_of};
use crate::output;
use changedesk_server::export;

pub async fn run(app: &App, cmd: RulesCommand) -> Result<ExitCode> {
    match cmd {
        RulesCommand::List { format } => list(app, format).await,
        RulesCommand::Add(args) => add(app, &args).await,
        RulesCommand::Remove { name, who } => remove(app, &name, &admin_actor(&who)?).await,
        RulesCommand::Test {
            ids,
            tenant,
            format,
        } => {
            // each explanation is a trace, not a record
            output::not_csv(format)?;
            test(app, &ids, tenant.as_deref(), format).await
        }
        RulesCommand::Simulate { limit, all, format } => {
            if all {
                simulate_all(app, limit, format).await
            } else {
                output::not_csv(format)?;
                simulate(app, limit, format).await
            }
        }
        RulesCommand::Apply { format } => {
            // refused before anything is applied
            output::not_csv(format)?;
            apply(app, format).await
        }
    }
}

/// A rule as `rules list` shows it.
#[derive(Serialize)]
struct RuleLine {
    position: usize,
    name: String,
    enabled: bool,
    /// `config` (the configuration file) or `manual`.
    source: String,
    when: String,
    then: ActionSpec,
}

/// A rule's actions in one line: `owner = collab; priority = high; …`.
pub fn then_text(a: &ActionSpec) -> String {
    let mut parts = Vec::new();
    if let Some(o) = &a.owner {
        parts.push(format!("owner = {o}"));
    }
    if let Some(p) = a.priority {
        parts.push(format!("priority = {p}"));
    }
    if let Some(d) = &a.due {
        parts.push(format!("due = {d}"));
    }
    if !a.labels.is_empty() {
        parts.push(format!("labels = {}", a.labels.join(", ")));
    }
    if let Some(d) = &a.dismiss {
        parts.push(format!("dismiss ({d})"));
    }
    if a.change_request {
        parts.push("change request".to_string());
    }
    if a.communication {
        parts.push("communication".to_string());
    }
    if !a.notify.is_empty() {
        parts.push(format!("notify {}", a.notify.join(", ")));
    }
    if a.stop {
        parts.push("stop".to_string());
    }
    if parts.is_empty() {
        "(nothing)".to_string()
    } else {
        parts.join("; ")
    }
}

/// The archive's setup, or the configuration file's alone when there is no
/// archive yet.
async fn read_setup(app: &App) -> Result<(Setup, Option<Store>)> {
    match app.store(OpenMode::ReadOnly).await {
        Ok(store) => match setup::setup(app, &store).await {
            Ok(s) => Ok((s, Some(store))),
            Err(e) => {
                store.close().await;
                Err(e)
            }
        },
        Err(e)
            if matches!(
                e.downcast_ref::<StoreError>(),
                Some(StoreError::MissingDatabase(_))
            ) =>
        {
            let t = &app.config.triage;
            let seed = setup::seed_of(t)?;
            let now = app::now()?;
            Ok((
                Setup {
                    owners: t.owners.clone(),
                    groups: t.groups.clone(),
                    ownership: t.ownership.clone(),
                    rules: seed
                        .rules
                        .into_iter()
                        .enumerate()
                        .map(|(i, r)| RuleRow {
                            name: r.name,
                            position: i as i64 + 1,
                            enabled: r.enabled,
                            spec: r.spec,
                            source: "config".to_string(),
                            updated_at: now,
                        })
                        .collect(),
                },
                None,
            ))
        }
        Err(e) => Err(e),
    }
}

async fn list(app: &App, format: Format) -> Result<ExitCode> {
    let (s, store) = read_setup(app).await?;
    if let Some(store) = store {
        store.close().await;
    }
    let lines: Vec<RuleLine> = s
        .rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let spec = spec_of(r)?;
            Ok(RuleLine {
                position: i + 1,
                name: r.name.clone(),
                enabled: r.enabled,
                source: r.source.clone(),
                when: spec.when,
                then: spec.then,
            })
        })
        .collect::<Result<_>>()?;
    if format == Format::Csv {
        let rows = lines.iter().map(|l| {
            vec![
                l.position.to_string(),
                l.name.clone(),
                l.enabled.to_string(),
                l.source.clone(),
                l.when.clone(),
                then_text(&l.then),
            ]
        });
        output::print_csv(
            &["position", "name", "enabled", "source", "when", "then"],
            rows,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if format != Format::Table {
        output::print_json(&lines, format)?;
        return Ok(ExitCode::SUCCESS);
    }
    if lines.is_empty() {
        println!(
            "no rules: add one with `changedesk rules add NAME --when EXPR --owner workload`, or in [[rules]] of the configuration file (see docs/RULES.md)"
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = output::table(&["#", "Rule", "When", "Then", "On", "From"]);
    for l in &lines {
        t.add_row(vec![
            l.position.to_string(),
            l.name.clone(),
            l.when.clone(),
            then_text(&l.then),
            output::yes_no(l.enabled).to_string(),
            if l.source == "config" {
                "configuration file".to_string()
            } else {
                l.source.clone()
            },
        ]);
    }
    println!("{t}");
    if let Err(e) = RuleSet::compile(&s.specs()?) {
        eprintln!("warning: the rules do not compile, so none is applied:\n{e}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// What `rules add` builds from its flags.
fn spec_from(args: &RuleAddArgs) -> Result<RuleSpec> {
    let priority = args
        .priority
        .as_deref()
        .map(|p| p.parse::<Priority>())
        .transpose()
        .map_err(|e| anyhow!("--priority: {e}"))?;
    let text = |s: &Option<String>| s.as_deref().map(|s| s.trim().to_string());
    Ok(RuleSpec {
        name: args.name.trim().to_string(),
        when: args.when.clone(),
        then: ActionSpec {
            owner: text(&args.owner),
            priority,
            due: args.due.clone(),
            labels: args.labels.iter().map(|l| l.trim().to_string()).collect(),
            dismiss: text(&args.dismiss),
            change_request: args.change_request,
            communication: args.communication,
            notify: args.notify.iter().map(|n| n.trim().to_string()).collect(),
            stop: args.stop,
        },
        enabled: !args.disabled,
    })
}

async fn add(app: &App, args: &RuleAddArgs) -> Result<ExitCode> {
    let actor = admin_actor(&args.who)?;
    let spec = spec_from(args)?;
    if args.position == Some(0) {
        bail!("--position counts from 1 (the first rule)");
    }
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    let r = add_rule(app, &store, &spec, args.position, &actor, now).await;
    store.close().await;
    r
}

async fn add_rule(
    app: &App,
    store: &Store,
    spec: &RuleSpec,
    position: Option<usize>,
    actor: &str,
    now: Timestamp,
) -> Result<ExitCode> {
    setup::seed(app, store, now).await?;
    let s = setup::setup(app, store).await?;
    // the owners a rule names must exist
    if let Some(o) = &spec.then.owner
        && !o.eq_ignore_ascii_case("workload")
    {
        s.owner(o).map_err(|e| {
            anyhow!("--owner: {e} (or `workload`: the owner of the post's workload)")
        })?;
    }
    for n in &spec.then.notify {
        if !n.eq_ignore_ascii_case("owner") {
            s.owner(n)
                .map_err(|e| anyhow!("--notify: {e} (or `owner`: the item's owner)"))?;
        }
    }
    let new_row = RuleRow {
        name: spec.name.clone(),
        position: 0,
        enabled: spec.enabled,
        spec: serde_json::to_value(spec)?,
        source: "manual".to_string(),
        updated_at: now,
    };
    let mut rows = s.rules.clone();
    let existing = rows.iter().position(|r| r.name == spec.name);
    let replaced = existing.map(|i| rows.remove(i));
    let index = match (position, existing) {
        (Some(n), _) => (n - 1).min(rows.len()),
        (None, Some(i)) => i,
        (None, None) => rows.len(),
    };
    rows.insert(index, new_row);
    let specs = rows.iter().map(spec_of).collect::<Result<Vec<_>>>()?;
    if let Err(errors) = RuleSet::compile(&specs) {
        eprintln!(
            "error: the rules would not compile with this one, so nothing was saved:\n{errors}"
        );
        return Ok(ExitCode::from(2));
    }
    // positions: the configuration file fixes its rules' places (1, 2, …
    // at every seeding); hand-made rules are numbered around them, moving
    // up where the new rule needs room
    let last_config = s.rules.iter().rposition(|r| r.source == "config");
    let mut wanted: Vec<i64> = Vec::with_capacity(rows.len());
    let mut prev = 0i64;
    for (i, r) in rows.iter().enumerate() {
        let keep = if i == index {
            replaced
                .as_ref()
                .filter(|_| position.is_none())
                .map(|r| r.position)
        } else {
            Some(r.position)
        };
        let p = match keep {
            Some(p) if p > prev => p,
            _ if r.source == "config" => bail!(
                "rule `{}` comes from the configuration file, which fixes the order of its rules; put this rule after them (--position {} or later), or add it to the file",
                r.name,
                last_config.map_or(1, |k| k + 2)
            ),
            _ => prev + 1,
        };
        wanted.push(p);
        prev = p;
    }
    for (i, (r, &want)) in rows.iter().zip(&wanted).enumerate() {
        if i == index || (r.source != "config" && r.position != want) {
            store
                .put_rule(&r.name, r.enabled, &r.spec, Some(want), actor, &now)
                .await?;
        }
    }
    let from_file = replaced.as_ref().is_some_and(|r| r.source == "config");
    println!(
        "rule `{}` {} at position {} of {}{}",
        spec.name,
        if replaced.is_some() {
            "replaced"
        } else {
            "added"
        },
        index + 1,
        rows.len(),
        if spec.enabled { "" } else { " (disabled)" }
    );
    if from_file {
        println!(
            "note: it overrides the configuration file's rule of that name until you remove it (`changedesk rules remove {}`)",
            spec.name
        );
    }
    println!(
        "try it with `changedesk rules simulate`; it applies to posts the rules have not seen yet (`changedesk rules apply`)"
    );
    Ok(ExitCode::SUCCESS)
}

async fn remove(app: &App, name: &str, actor: &str) -> Result<ExitCode> {
    let name = name.trim();
    let now = app::now()?;
    let store = app.store(OpenMode::ReadWrite).await?;
    let r = async {
        setup::seed(app, &store, now).await?;
        let rules = store.rules().await?;
        let Some(row) = rules
            .iter()
            .find(|r| r.name == name)
            .or_else(|| rules.iter().find(|r| r.name.eq_ignore_ascii_case(name)))
        else {
            bail!(
                "unknown rule `{name}` ({})",
                if rules.is_empty() {
                    "there are no rules".to_string()
                } else {
                    format!(
                        "rules: {}",
                        rules
                            .iter()
                            .map(|r| r.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            );
        };
        if row.source == "config" {
            bail!(
                "rule `{}` is defined in the configuration file's [[rules]]; remove it there (it would come back at the next sync), or switch it off there with `enabled = false`",
                row.name
            );
        }
        store.remove_rule(&row.name, actor, &now).await?;
        let back = app
            .config
            .triage
            .rules
            .iter()
            .any(|r| r.name.trim() == row.name);
        println!("rule `{}` removed", row.name);
        if back {
            println!(
                "note: the configuration file's rule `{}` takes its place at the next sync",
                row.name
            );
        }
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    r
}

/// A post as the rules see it, built from the archive.
async fn candidate(store: &Store, id: &str) -> Result<Candidate> {
    let d = store.get_message(id).await?;
    let stored = store.work_item(id).await?;
    Ok(changedesk_server::triage::candidate_of(d, stored))
}

async fn test(app: &App, ids: &[String], tenant: Option<&str>, format: Format) -> Result<ExitCode> {
    let tenant = tenant.map(|t| t.trim().to_ascii_lowercase());
    if let Some(t) = &tenant {
        changedesk_store::validate_tenant_name(t)?;
    }
    let now = app::now()?;
    let store = app.store(OpenMode::ReadOnly).await?;
    let r = async {
        let s = setup::setup(app, &store).await?;
        let triage = s.triage(app)?;
        let mut out: Vec<Explanation> = Vec::new();
        let mut owners: Vec<Option<String>> = Vec::new();
        for id in ids {
            let id = post_id(id);
            let c = candidate(&store, &id).await?;
            let tenants: Vec<String> = match &tenant {
                Some(t) => {
                    if !c.links.iter().any(|l| &l.tenant == t) {
                        eprintln!(
                            "note: tenant {t} has never seen {id}; its tenant facts are empty"
                        );
                    } else if !c.links.iter().any(|l| &l.tenant == t && l.visible) {
                        eprintln!("note: {id} is gone for tenant {t}");
                    }
                    vec![t.clone()]
                }
                None => {
                    let visible: Vec<String> = c
                        .links
                        .iter()
                        .filter(|l| l.visible)
                        .map(|l| l.tenant.clone())
                        .collect();
                    if visible.is_empty() {
                        eprintln!("note: no tenant sees {id} any more; explaining for the tenants that saw it");
                        c.links.iter().map(|l| l.tenant.clone()).collect()
                    } else {
                        visible
                    }
                }
            };
            if tenants.is_empty() {
                bail!("{id} is linked to no tenant: name one with --tenant");
            }
            for t in tenants {
                let e = triage.explain(&c, &t, now);
                owners.push(workload_owner(&triage, &c, &t, &e));
                out.push(e);
            }
        }
        if triage.rules.is_empty() {
            eprintln!(
                "note: there are no rules; an item gets the owner of its workload (`changedesk owners map`)"
            );
        }
        match format {
            Format::Table => {
                for (i, (e, owner)) in out.iter().zip(&owners).enumerate() {
                    if i > 0 {
                        println!();
                    }
                    println!("{e}");
                    if let Some(o) = owner {
                        println!("{o}");
                    }
                }
            }
            f => output::print_json(&out, f)?,
        }
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    r
}

/// Who `owner = workload` (or no owner at all) means for this post and
/// tenant: `Workload owner: collab (Microsoft Teams, every tenant)`.
fn workload_owner(triage: &Triage, c: &Candidate, tenant: &str, e: &Explanation) -> Option<String> {
    let via_workload = match &e.outcome.owner {
        None => "no rule sets an owner, so the workload's owner is assigned",
        Some(OwnerTarget::Workload) => "the owner of the post's workload",
        Some(OwnerTarget::Named(_)) => return None,
    };
    Some(
        match triage
            .ownership
            .owner_for_tenant(&c.content.services, tenant, &triage.groups)
        {
            Some(r) => format!(
                "Owner: {} ({via_workload}: {}, {})",
                r.owner,
                r.workload,
                crate::commands::owners::scope_text(&r.via)
            ),
            None => format!(
                "Owner: nobody ({via_workload}, and nobody owns {}; see `changedesk owners map`)",
                if c.content.services.is_empty() {
                    "posts without a service".to_string()
                } else {
                    c.content.services.join(", ")
                }
            ),
        },
    )
}

/// A value of a log entry for people: dates as dates.
fn value_text(v: &Option<String>) -> String {
    match v.as_deref() {
        None => "(none)".to_string(),
        Some(s) => match Timestamp::parse(s) {
            Ok(t) if s.len() >= 20 => {
                let human = t.human();
                if human.ends_with("00:00 UTC") {
                    t.date()
                } else {
                    human
                }
            }
            _ => s.to_string(),
        },
    }
}

/// A log entry in a few words: `assign: assignee (none) → collab`.
pub fn brief(e: &LogEntry) -> String {
    let mut out = e.action.to_string();
    if let changedesk_core::triage::LogScope::Tenant(t) = &e.scope {
        out.push_str(&format!(" [{t}]"));
    }
    if let Some(field) = &e.field {
        out.push_str(&format!(
            ": {field} {} → {}",
            value_text(&e.old),
            value_text(&e.new)
        ));
    }
    if let Some(r) = &e.reason {
        out.push_str(&format!(" ({r})"));
    }
    out
}

async fn simulate(app: &App, limit: usize, format: Format) -> Result<ExitCode> {
    let now = app::now()?;
    let store = app.store(OpenMode::ReadOnly).await?;
    let r = async {
        let s = setup::setup(app, &store).await?;
        let triage = s.triage(app)?;
        let summary = apply_rules(&store, &triage, now, true).await?;
        if format != Format::Table {
            output::print_one(&summary)?;
            return Ok(ExitCode::SUCCESS);
        }
        for c in summary.changes.iter().take(limit) {
            let what: Vec<String> = c.entries.iter().map(brief).collect();
            let notify: Vec<String> = c
                .notify
                .iter()
                .map(|n| format!("notify {} ({})", n.target, n.reason))
                .collect();
            println!(
                "{}  {}",
                c.post_id,
                if c.created {
                    "new item"
                } else {
                    "existing item"
                }
            );
            for line in what.iter().chain(&notify) {
                println!("    {line}");
            }
            if what.is_empty() && notify.is_empty() {
                println!("    (created as new, nothing set)");
            }
        }
        if summary.changes.len() > limit {
            println!(
                "… and {} more post{} (--limit N shows more)",
                summary.changes.len() - limit,
                if summary.changes.len() - limit == 1 { "" } else { "s" }
            );
        }
        println!("would: {}", setup::summary_text(&summary));
        println!("nothing was changed; `changedesk rules apply` does this");
        if summary.evaluated == 0 {
            println!(
                "(the rules have seen every post already; `changedesk rules simulate --all` shows how they would triage every post now)"
            );
        }
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    r
}

async fn apply(app: &App, format: Format) -> Result<ExitCode> {
    let now = app::now()?;
    let store = app.store_existing().await?;
    let r = async {
        setup::seed(app, &store, now).await?;
        let run = setup::run_rules(app, &store, now).await?;
        // items nobody has touched are routed again with today's owners and rules
        let triage =
            changedesk_server::triage::Triage::load(&store, app.config.triage.reopen.clone())
                .await?
                .with_thresholds(app.config.notify.thresholds);
        let rerouted = changedesk_server::triage::retriage_untouched(&store, &triage, now).await?;
        match format {
            Format::Table => {
                println!("{}", setup::rules_line(&run));
                if rerouted > 0 {
                    println!("rules: {rerouted} untouched items routed again");
                }
            }
            _ => {
                let mut v = setup::run_json(&run);
                if let Some(o) = v.as_object_mut() {
                    o.insert("rerouted".into(), serde_json::json!(rerouted));
                }
                output::print_one(&v)?
            }
        }
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    r
}

/// How the rules would triage one post now, against its work item.
#[derive(Serialize)]
struct Rejudged {
    id: String,
    /// The post has no work item yet.
    new: bool,
    /// What differs: `assignee collab → security`, …
    differences: Vec<String>,
    /// The item the rules would create now.
    rules: changedesk_core::triage::WorkItem,
}

fn differences(
    now: &changedesk_core::triage::WorkItem,
    would: &changedesk_core::triage::WorkItem,
) -> Vec<String> {
    let mut out = Vec::new();
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "(nobody)".to_string());
    if now.assignee != would.assignee {
        out.push(format!(
            "assignee {} → {}",
            opt(&now.assignee),
            opt(&would.assignee)
        ));
    }
    let dismissed = |i: &changedesk_core::triage::WorkItem| {
        i.state == changedesk_core::triage::State::Dismissed
    };
    if dismissed(now) != dismissed(would) {
        out.push(if dismissed(would) {
            format!(
                "dismissed ({})",
                would.dismiss_reason.as_deref().unwrap_or("no reason")
            )
        } else {
            "the rules would not dismiss it (the item is dismissed)".to_string()
        });
    }
    if now.priority != would.priority {
        out.push(format!("priority {} → {}", now.priority, would.priority));
    }
    if now.due != would.due {
        let d = |t: Option<Timestamp>| t.map_or("(none)".to_string(), |t| t.date());
        out.push(format!("due {} → {}", d(now.due), d(would.due)));
    }
    let added: Vec<&String> = would.labels.difference(&now.labels).collect();
    if !added.is_empty() {
        out.push(format!(
            "labels + {}",
            added
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if would.requires_change_request && !now.requires_change_request {
        out.push("needs a change request".to_string());
    }
    if would.requires_communication && !now.requires_communication {
        out.push("needs communication".to_string());
    }
    out
}

async fn simulate_all(app: &App, limit: usize, format: Format) -> Result<ExitCode> {
    let now = app::now()?;
    let store = app.store(OpenMode::ReadOnly).await?;
    let r = async {
        let s = setup::setup(app, &store).await?;
        let triage = s.triage(app)?;
        let mut evaluated = 0usize;
        let mut out: Vec<Rejudged> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let batch = store.triage_candidates(false, after.as_deref(), 500).await?;
            for c in &batch {
                evaluated += 1;
                let mut fresh = c.clone();
                fresh.stored = None;
                fresh.changed_fields.clear();
                let Some((would, _, _)) = triage.decide(&fresh, now) else {
                    continue;
                };
                let (is_new, diffs) = match &c.stored {
                    None => (true, differences(&changedesk_core::triage::WorkItem::new(&c.content.id, now), &would)),
                    Some(stored) => (false, differences(&stored.item, &would)),
                };
                if is_new || !diffs.is_empty() {
                    out.push(Rejudged {
                        id: c.content.id.clone(),
                        new: is_new,
                        differences: diffs,
                        rules: would,
                    });
                }
            }
            match batch.last() {
                Some(last) if batch.len() == 500 => after = Some(last.content.id.clone()),
                _ => break,
            }
        }
        if format == Format::Csv {
            // the post, what differs, and the item the rules would make
            let rows = out.iter().map(|r| {
                let w = &r.rules;
                vec![
                    r.id.clone(),
                    r.new.to_string(),
                    r.differences.join("; "),
                    w.state.as_str().to_string(),
                    w.assignee.clone().unwrap_or_default(),
                    w.priority.as_str().to_string(),
                    export::time(w.due),
                    export::list(&w.labels.iter().collect::<Vec<_>>()),
                    w.dismiss_reason.clone().unwrap_or_default(),
                ]
            });
            output::print_csv(
                &[
                    "id",
                    "new",
                    "differences",
                    "state",
                    "assignee",
                    "priority",
                    "due",
                    "labels",
                    "dismiss_reason",
                ],
                rows,
            )?;
            return Ok(ExitCode::SUCCESS);
        }
        if format != Format::Table {
            output::print_json(&out, format)?;
            return Ok(ExitCode::SUCCESS);
        }
        for r in out.iter().take(limit) {
            println!(
                "{}  {}{}",
                r.id,
                if r.new { "(no item yet) " } else { "" },
                if r.differences.is_empty() {
                    "nothing set".to_string()
                } else {
                    r.differences.join("; ")
                }
            );
        }
        if out.len() > limit {
            println!("… and {} more (--limit N shows more)", out.len() - limit);
        }
        let fresh = out.iter().filter(|r| r.new).count();
        println!(
            "{evaluated} posts evaluated as if new: {} work item{} triaged differently from what the rules decide now, {fresh} post{} without an item",
            out.len() - fresh,
            if out.len() - fresh == 1 { " is" } else { "s are" },
            if fresh == 1 { "" } else { "s" },
        );
        println!(
            "nothing was changed; existing items keep what was decided (the rules only triage posts they have not seen)"
        );
        Ok(ExitCode::SUCCESS)
    }
    .await;
    store.close().await;
    r
}
