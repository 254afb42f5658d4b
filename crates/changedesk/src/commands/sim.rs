//! `changedesk sim`: the Microsoft Graph simulator as a server of its own.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result};
use changedesk_sim::{CorpusSpec, Faults, SimConfig, SimTenant};

use crate::cli::SimArgs;

/// A changedesk configuration whose tenants are the simulator's (secret auth).
pub fn config_for(base_url: &str, tenants: &[SimTenant], database: Option<&str>) -> String {
    let mut out = String::from(
        "# changedesk configuration for the Graph simulator (test credentials only)\n",
    );
    if let Some(db) = database {
        let _ = writeln!(out, "database = \"{db}\"");
    }
    for t in tenants {
        let _ = write!(
            out,
            "\n[[tenants]]\nname = \"{}\"\ntenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nlogin_url = \"{base_url}\"\ngraph_url = \"{base_url}\"\n",
            t.name, t.tenant_id, t.client_id, t.client_secret
        );
    }
    out
}

/// A changedesk configuration with the simulator's multi-tenant app (`[app]`)
/// and no tenants: they are added with `changedesk tenants import`.
pub fn app_config_for(base_url: &str, public_url: &str) -> String {
    format!(
        "# changedesk configuration for the Graph simulator's multi-tenant app (test credentials only)\n\
         # add tenants with `changedesk tenants import FILE.csv`, then `changedesk tenants consent-link`\n\n\
         [app]\nclient_id = \"{}\"\nclient_secret = \"{}\"\nlogin_url = \"{base_url}\"\ngraph_url = \"{base_url}\"\n\n\
         [server]\npublic_url = \"{public_url}\"\n",
        changedesk_sim::SIM_CLIENT_ID,
        changedesk_sim::SIM_CLIENT_SECRET,
    )
}

/// The simulated tenants as a CSV list for `changedesk tenants import`.
pub fn tenants_csv(tenants: &[SimTenant]) -> String {
    let mut out = String::from("name,tenant_id,display_name\n");
    for (i, t) in tenants.iter().enumerate() {
        let _ = writeln!(out, "{},{},Customer {}", t.name, t.tenant_id, i + 1);
    }
    out
}

pub async fn run(args: &SimArgs) -> Result<ExitCode> {
    let corpus_file_items = match &args.corpus {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Some(
                changedesk_sim::listing_items(&bytes)
                    .with_context(|| format!("{}", path.display()))?,
            )
        }
        None => None,
    };
    let config = SimConfig {
        listen: args.listen,
        tenants: args.tenants,
        spec: CorpusSpec {
            posts: args.generate,
            issues: args.generate / 25 + 5,
            tenants: args.tenants,
            seed: args.seed,
            ..CorpusSpec::default()
        },
        corpus_file_items,
        faults: Faults {
            fault_429: args.fault_429,
            fault_503: args.fault_503,
            latency_ms: args.latency_ms,
            truncate: args.truncate,
            token_lifetime_secs: args.token_lifetime,
            select: args.select,
            ..Faults::default()
        },
        seed: args.seed,
        unconsented: args.unconsented,
        // with the change-control mocks, Planner's tasks too
        app_roles: changedesk_sim::DEFAULT_APP_ROLES
            .iter()
            .chain(if args.itsm {
                &[changedesk_sim::TASKS_READ_WRITE_ALL][..]
            } else {
                &[]
            })
            .map(|r| (*r).to_owned())
            .collect(),
        ..SimConfig::default()
    };
    let sim = changedesk_sim::start(config).await?;
    let base = sim.base_url().trim_end_matches('/').to_string();
    let tenants = sim.tenants();
    println!("Microsoft Graph simulator listening on {base}/");
    println!(
        "  {} tenants ({} … {}), control API at {base}/_sim/",
        tenants.len(),
        tenants.first().map_or("", |t| t.name.as_str()),
        tenants.last().map_or("", |t| t.name.as_str())
    );
    if args.unconsented {
        println!(
            "  no tenant has consented to the app yet: follow an admin-consent link (`changedesk tenants consent-link`)"
        );
    }
    if let Some(path) = &args.write_app_config {
        std::fs::write(path, app_config_for(&format!("{base}/"), &args.public_url))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "  configuration with the simulator's multi-tenant app written to {}",
            path.display()
        );
    }
    if let Some(path) = &args.write_tenants_csv {
        std::fs::write(path, tenants_csv(&tenants))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "  the tenants as a CSV list written to {}: try `changedesk tenants import {}`",
            path.display(),
            path.display()
        );
    }
    if let Some(path) = &args.write_config {
        std::fs::write(path, config_for(&format!("{base}/"), &tenants, None))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "  configuration for these tenants written to {}: try `changedesk --config {} sync`",
            path.display(),
            path.display()
        );
    } else {
        println!("  pass --write-config FILE for a changedesk configuration that uses it");
    }
    let itsm = if args.itsm {
        if let (Some(t), Some(plan)) = (
            tenants.first(),
            tenants.first().and_then(|t| sim.planner_plan(&t.name)),
        ) {
            println!(
                "Planner (Graph, Tasks.ReadWrite.All granted): each tenant has a plan \"{}\"; {}'s is {}. A connector to it:\n  \
                 SIM_SECRET={} changedesk notify channel add tasks --planner {} --directory {} --graph-url {base} \\\n    \
                 --login-url {base} --user {} --secret-env SIM_SECRET --allow-private --as USER",
                plan.title,
                t.name,
                plan.plan_id,
                t.client_secret,
                plan.plan_id,
                t.tenant_id,
                t.client_id
            );
        }
        Some(start_itsm().await?)
    } else {
        None
    };
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    if let Some((servicenow, jira, glpi)) = itsm {
        servicenow.shutdown().await;
        jira.shutdown().await;
        glpi.shutdown().await;
    }
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// The change-control mocks, started, with how to reach them printed
/// (test credentials only).
async fn start_itsm() -> Result<(
    changedesk_sim::servicenow::ServiceNowHandle,
    changedesk_sim::jira::JiraHandle,
    changedesk_sim::glpi::GlpiHandle,
)> {
    use changedesk_sim::{glpi, jira, servicenow};
    let sn = servicenow::start_servicenow(servicenow::ServiceNowConfig::default())
        .await
        .context("cannot start the ServiceNow mock")?;
    let c = sn.config();
    println!(
        "ServiceNow mock (Table API change_request and incident) at {}/: Basic {} / {}, or OAuth client {} / {}",
        sn.url(),
        c.user,
        c.password,
        c.client_id,
        c.client_secret
    );
    let j = jira::start_jira(jira::JiraConfig::default())
        .await
        .context("cannot start the Jira mock")?;
    let c = j.config();
    println!(
        "Jira Cloud mock (REST v3) at {}/: {} with API token {}, project {} (issue types {})",
        j.url(),
        c.email,
        c.api_token,
        c.project,
        c.issue_types.join(", ")
    );
    let g = glpi::start_glpi(glpi::GlpiConfig::default())
        .await
        .context("cannot start the GLPI mock")?;
    let c = g.config();
    println!(
        "GLPI mock at {} (user token {}{}) and {} (OAuth client {} / {}, scope api)",
        g.url(),
        c.user_token,
        c.app_token
            .as_deref()
            .map(|a| format!(", App-Token {a}"))
            .unwrap_or_default(),
        g.hl_url(),
        c.oauth_client_id,
        c.oauth_client_secret
    );
    Ok((sn, j, g))
}
