//! One module per command group.

mod agenda;
mod baseline;
mod bench_seed;
mod config;
mod demo;
mod export;
mod import;
mod incidents;
mod messages;
mod notify;
mod owners;
mod report;
mod roadmap;
mod rules;
mod secrets;
mod serve;
mod setup;
mod sim;
mod sync;
mod tasks;
mod tenants;
mod timeline;
mod user;

use std::process::ExitCode;

use anyhow::Result;

use crate::app::App;
use crate::cli::{Cli, Command};

pub async fn run(cli: Cli) -> Result<ExitCode> {
    // `config` works on a file that may not load: it does not need the App.
    if let Command::Config(cmd) = &cli.command {
        return config::run(&cli.global, cmd);
    }
    // the simulator needs no configuration either
    if let Command::Sim(args) = &cli.command {
        crate::app::init_logging(cli.global.verbose, changedesk_core::config::LogFormat::Text);
        return sim::run(args).await;
    }
    // reading a file's timelines needs no configuration either
    if let Command::Timeline(cmd) = &cli.command {
        return timeline::run(cmd);
    }
    let explicit_database = cli.global.database.is_some();
    let mut app = App::load(&cli.global)?;
    match cli.command {
        Command::Config(_) | Command::Sim(_) | Command::Timeline(_) => {
            unreachable!("handled above")
        }
        Command::Sync(args) => sync::run(&app, &args).await,
        Command::Import(args) => import::run(&app, &args).await,
        Command::Messages(cmd) => messages::run(&app, cmd).await,
        Command::Incidents(cmd) => incidents::run(&app, cmd).await,
        Command::Health(args) => incidents::health(&app, &args).await,
        Command::Tenants(cmd) => tenants::run(&app, cmd).await,
        Command::Export(cmd) => export::run(&app, cmd).await,
        Command::Owners(cmd) => owners::run(&app, cmd).await,
        Command::Rules(cmd) => rules::run(&app, cmd).await,
        Command::Roadmap(cmd) => roadmap::run(&app, cmd).await,
        Command::Tasks(cmd) => tasks::run(&app, cmd).await,
        Command::Agenda(args) => agenda::run(&app, &args).await,
        Command::Report(cmd) => report::run(&app, &cmd).await,
        Command::Baseline(cmd) => baseline::run(&app, cmd).await,
        Command::Serve(args) => serve::run(&app, &args).await,
        Command::User(cmd) => user::run(&app, cmd).await,
        Command::Secrets(cmd) => secrets::run(&app, cmd),
        Command::Notify(cmd) => notify::run(&app, cmd).await,
        Command::BenchSeed(args) => bench_seed::run(&app, &args).await,
        Command::Demo(args) => {
            // the demo never writes into the configured archive unless told to
            if !explicit_database {
                demo::remove_demo_database()?;
                app.config.database =
                    changedesk_core::config::DatabaseUrl::sqlite(demo::DEMO_DATABASE);
            }
            demo::run(&app, &args).await
        }
    }
}
