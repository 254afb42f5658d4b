//! What the triage commands share: the configuration file's owners, groups,
//! ownership and rules (seeded into the archive before a command writes,
//! merged in memory when a command only reads), who is acting, and the
//! one-line summary of a rules run.

use anyhow::{Context, Result, anyhow, bail};
use changedesk_core::Timestamp;
use changedesk_core::config::TriageConfig;
use changedesk_core::rules::{RuleSet, RuleSpec};
use changedesk_core::triage::{Actor, Owner, OwnershipEntry, OwnershipMap, Scope, TenantGroup};
use changedesk_server::triage::{ApplySummary, SweepSummary, Triage, apply_rules, sweep_deadlines};
use changedesk_store::{RuleRow, SeedRule, Store, TriageSeed};
use serde::Serialize;

use crate::app::App;
use crate::cli::AsUser;

/// The configuration file's triage sections as the store seeds them.
pub fn seed_of(cfg: &TriageConfig) -> Result<TriageSeed> {
    let rules = cfg
        .rules
        .iter()
        .map(|r| {
            Ok(SeedRule {
                name: r.name.trim().to_string(),
                enabled: r.enabled,
                spec: serde_json::to_value(r).context("cannot store a rule")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(TriageSeed {
        owners: cfg.owners.clone(),
        groups: cfg.groups.clone(),
        ownership: cfg.ownership.clone(),
        rules,
    })
}

/// Makes the configuration file's owners, groups, ownership and rules the
/// archive's (rows added by hand are kept; nothing when the file has
/// none), then its notification channels ([`declare_channels`]).
pub async fn seed(app: &App, store: &Store, now: Timestamp) -> Result<()> {
    if app.config.triage.has_seed() {
        let seed = seed_of(&app.config.triage)?;
        store
            .seed(&seed, &now)
            .await
            .context("cannot store the configuration file's owners, groups, ownership and rules")?;
    }
    declare_channels(app, store, now).await?;
    Ok(())
}

/// Makes the configuration file's `[[notify.channel]]` the archive's:
/// adds and updates the declared channels, disables those no longer
/// declared (audited as `config`). Without a configuration file, nothing.
pub async fn declare_channels(
    app: &App,
    store: &Store,
    now: Timestamp,
) -> Result<changedesk_store::DeclaredSummary> {
    use changedesk_server::declared::{Declarations, DeclareError, apply_declared};
    let Some(file) = app.config_path.as_deref() else {
        return Ok(Default::default());
    };
    let channels = &app.config.notify.channels;
    // the key only when a declared channel has something to seal
    let ring = if channels
        .iter()
        .any(|c| c.url.is_some() || c.secret.is_some())
    {
        crate::commands::notify::keyring(app)?
    } else {
        None
    };
    let configured: Vec<String> = app.config.tenants.iter().map(|t| t.name.clone()).collect();
    let declarations = Declarations {
        file,
        channels,
        configured_tenants: &configured,
    };
    let summary = apply_declared(store, ring.as_deref(), &declarations, "config", now)
        .await
        .map_err(|e| match e {
            DeclareError::Config(errors) => {
                anyhow!("the configuration's notification channels are not valid:\n{errors}")
            }
            DeclareError::Store(e) => anyhow::Error::new(e)
                .context("cannot store the configuration file's notification channels"),
        })?;
    if !summary.is_empty() {
        tracing::info!(
            added = ?summary.added,
            updated = ?summary.updated,
            disabled = ?summary.disabled,
            "notification channels from the configuration file"
        );
    }
    Ok(summary)
}

/// Owners, groups, ownership and rules as the archive will hold them once
/// the configuration file is seeded: the archive's, with the file's merged
/// in as seeding would (so read-only commands see the file's latest rules).
#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub owners: Vec<Owner>,
    pub groups: Vec<TenantGroup>,
    pub ownership: Vec<OwnershipEntry>,
    pub rules: Vec<RuleRow>,
}

/// The archive's triage setup with the configuration file's merged in.
pub async fn setup(app: &App, store: &Store) -> Result<Setup> {
    let mut s = Setup {
        owners: store.owners().await?,
        groups: store.groups().await?,
        ownership: store.ownership().await?,
        rules: store.rules().await?,
    };
    let cfg = &app.config.triage;
    if !cfg.has_seed() {
        return Ok(s);
    }
    let now = crate::app::now()?;
    for o in &cfg.owners {
        match s.owners.iter_mut().find(|x| x.is_named(&o.name)) {
            Some(x) => *x = normalized_owner(o),
            None => s.owners.push(normalized_owner(o)),
        }
    }
    s.owners.sort_by(|a, b| a.name.cmp(&b.name));
    // the file's groups come first, in file order
    let mut groups: Vec<TenantGroup> = cfg
        .groups
        .iter()
        .map(|g| TenantGroup {
            name: g.name.to_ascii_lowercase(),
            ..g.clone()
        })
        .collect();
    groups.extend(
        s.groups
            .into_iter()
            .filter(|g| !cfg.groups.iter().any(|c| c.is_named(&g.name))),
    );
    s.groups = groups;
    for e in &cfg.ownership {
        let e = OwnershipEntry {
            workload: e.workload.trim().to_string(),
            owner: e.owner.trim().to_ascii_lowercase(),
            scope: lower_scope(&e.scope),
        };
        match s.ownership.iter_mut().find(|x| {
            x.workload.eq_ignore_ascii_case(&e.workload) && lower_scope(&x.scope) == e.scope
        }) {
            Some(x) => *x = e,
            None => s.ownership.push(e),
        }
    }
    // rules: the file's replace the archive's `config` rows, at positions 1, 2, …
    let seed = seed_of(cfg)?;
    let manual: Vec<RuleRow> = s
        .rules
        .into_iter()
        .filter(|r| r.source != "config")
        .collect();
    let mut rules = manual.clone();
    for (i, r) in seed.rules.into_iter().enumerate() {
        if !manual.iter().any(|m| m.name == r.name) {
            rules.push(RuleRow {
                name: r.name,
                position: i as i64 + 1,
                enabled: r.enabled,
                spec: r.spec,
                source: "config".to_string(),
                updated_at: now,
            });
        }
    }
    rules.sort_by(|a, b| a.position.cmp(&b.position).then(a.name.cmp(&b.name)));
    s.rules = rules;
    Ok(s)
}

/// A scope with its name as the archive keeps it (lower case).
pub fn lower_scope(scope: &Scope) -> Scope {
    match scope {
        Scope::All => Scope::All,
        Scope::Group(g) => Scope::Group(g.trim().to_ascii_lowercase()),
        Scope::Tenant(t) => Scope::Tenant(t.trim().to_ascii_lowercase()),
    }
}

fn normalized_owner(o: &Owner) -> Owner {
    Owner {
        name: o.name.trim().to_ascii_lowercase(),
        ..o.clone()
    }
}

/// A stored rule as a spec (its name and switch come from the row).
pub fn spec_of(r: &RuleRow) -> Result<RuleSpec> {
    let mut spec: RuleSpec = serde_json::from_value(r.spec.clone())
        .with_context(|| format!("stored rule `{}` cannot be read", r.name))?;
    spec.name = r.name.clone();
    spec.enabled = r.enabled;
    Ok(spec)
}

impl Setup {
    /// The rules as specs, in evaluation order.
    pub fn specs(&self) -> Result<Vec<RuleSpec>> {
        self.rules.iter().map(spec_of).collect()
    }

    /// Everything the rules need, compiled.
    pub fn triage(&self, app: &App) -> Result<Triage> {
        let rules = RuleSet::compile(&self.specs()?)
            .map_err(|e| anyhow!("the rules do not compile:\n{e}"))?;
        Ok(Triage {
            rules,
            groups: self.groups.clone(),
            ownership: OwnershipMap {
                entries: self.ownership.clone(),
            },
            owners: self.owners.clone(),
            reopen: app.config.triage.reopen.clone(),
            thresholds: app.config.notify.thresholds,
            comms_templates: crate::commands::notify::comms_setup(app)?.templates,
        })
    }

    /// The owner called `name`, or an error naming the known owners.
    pub fn owner(&self, name: &str) -> Result<&Owner> {
        self.owners
            .iter()
            .find(|o| o.is_named(name))
            .ok_or_else(|| unknown_owner(name, &self.owners))
    }
}

/// `unknown owner `x` (known owners: a, b)`, with how to add one.
pub fn unknown_owner(name: &str, owners: &[Owner]) -> anyhow::Error {
    if owners.is_empty() {
        anyhow!(
            "unknown owner `{}`: no owners are defined yet (add one with `changedesk owners add NAME --email ADDRESS`, or in [[owners]] of the configuration file)",
            name.trim()
        )
    } else {
        anyhow!(
            "unknown owner `{}` (known owners: {}); add one with `changedesk owners add NAME --email ADDRESS`",
            name.trim(),
            owners
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// The person making a change: `--as USER` or CHANGEDESK_USER, required.
pub fn person(who: &AsUser) -> Result<Actor> {
    let Some(name) = who.user.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        bail!("who is making this change? Pass --as USER (or set CHANGEDESK_USER)");
    };
    Actor::person(name).map_err(|e| anyhow!("--as: {e}"))
}

/// Who changes owners, groups or rules, for the audit log: `--as USER`,
/// CHANGEDESK_USER, else the login name, else `cli`.
pub fn admin_actor(who: &AsUser) -> Result<String> {
    let given = who.user.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(name) = given {
        return Ok(Actor::person(name)
            .map_err(|e| anyhow!("--as: {e}"))?
            .to_string());
    }
    let login = ["USER", "USERNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty());
    Ok(login
        .and_then(|l| Actor::person(&l).ok())
        .map(|a| a.to_string())
        .unwrap_or_else(|| "cli".to_string()))
}

/// A post id as the archive writes it.
pub fn post_id(s: &str) -> String {
    s.trim().to_ascii_uppercase()
}

/// What a run of the rules (and the deadline sweep after it) did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RulesRun {
    #[serde(flatten)]
    pub summary: ApplySummary,
    /// Missed items closed by `[triage] missed = { auto_close = true }`.
    pub closed_as_missed: Vec<String>,
}

/// Runs the stored rules over the posts they have not seen (after the
/// configuration file was seeded), then the deadline sweep.
pub async fn run_rules(app: &App, store: &Store, now: Timestamp) -> Result<RulesRun> {
    let triage = Triage::load(store, app.config.triage.reopen.clone())
        .await?
        .with_thresholds(app.config.notify.thresholds)
        .with_comms_templates(crate::commands::notify::comms_setup(app)?.templates);
    let summary = apply_rules(store, &triage, now, false).await?;
    for f in &summary.failed {
        eprintln!(
            "error: the rules could not decide {} ({}); it stays pending for the next run, every other post was decided",
            f.id,
            changedesk_core::text::escape_controls(&f.error, false)
        );
    }
    let SweepSummary { closed, .. } =
        sweep_deadlines(store, &app.config.triage.missed, now).await?;
    Ok(RulesRun {
        summary,
        closed_as_missed: closed,
    })
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `812 posts evaluated, 812 items created (790 assigned, 12 dismissed), 3
/// reopened, 5 notify intents`, with flagged items, conflicts and
/// auto-closed ones when there are any.
pub fn summary_text(s: &ApplySummary) -> String {
    let mut out = format!(
        "{} evaluated, {} created ({} assigned, {} dismissed), {} reopened, {}",
        plural(s.evaluated, "post", "posts"),
        plural(s.created, "item", "items"),
        s.assigned,
        s.dismissed,
        s.reopened,
        plural(s.notified, "notify intent", "notify intents"),
    );
    if s.flagged > 0 {
        out.push_str(&format!(
            ", {} flagged as changed since triage",
            plural(s.flagged, "item", "items")
        ));
    }
    if s.comms_requested > 0 {
        out.push_str(&format!(
            ", {} asked for",
            plural(s.comms_requested, "communication", "communications")
        ));
    }
    if s.pilot_tasks_opened > 0 {
        out.push_str(&format!(
            ", {} opened",
            plural(s.pilot_tasks_opened, "pilot task", "pilot tasks")
        ));
    }
    if s.conflicts > 0 {
        out.push_str(&format!(
            ", {} left for the next run (changed by someone meanwhile)",
            plural(s.conflicts, "post", "posts")
        ));
    }
    if !s.failed.is_empty() {
        out.push_str(&format!(
            ", {} could not be decided (see the errors)",
            plural(s.failed.len(), "post", "posts")
        ));
    }
    out
}

/// The one-line summary of a rules run: `rules: …`.
pub fn rules_line(run: &RulesRun) -> String {
    let mut out = format!("rules: {}", summary_text(&run.summary));
    if !run.closed_as_missed.is_empty() {
        out.push_str(&format!(
            ", {} closed as missed",
            plural(run.closed_as_missed.len(), "item", "items")
        ));
    }
    out
}

/// A rules run as JSON, without the (simulation-only) list of changes.
pub fn run_json(run: &RulesRun) -> serde_json::Value {
    let mut v = serde_json::to_value(run).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.remove("changes");
    }
    v
}
