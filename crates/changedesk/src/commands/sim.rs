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
    println!("Press Ctrl-C to stop.");
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    sim.shutdown().await;
    Ok(ExitCode::SUCCESS)
}
