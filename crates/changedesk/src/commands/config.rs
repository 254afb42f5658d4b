//! `changedesk config example|check`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use changedesk_core::config;

use crate::app;
use crate::cli::{ConfigCommand, Global};

pub fn run(global: &Global, cmd: &ConfigCommand) -> Result<ExitCode> {
    match cmd {
        ConfigCommand::Example => {
            print!("{}", config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Check { file } => {
            let Some(path) = file.clone().or_else(|| app::config_path(global)) else {
                bail!(
                    "no configuration file to check: name one (`changedesk config check FILE`), or set --config or CHANGEDESK_CONFIG"
                );
            };
            let text = app::read_text(&path)?;
            let shown = path.display().to_string();
            match config::check(&shown, &text) {
                Ok(cfg) => {
                    let names: Vec<&str> = cfg.tenants.iter().map(|t| t.name.as_str()).collect();
                    println!(
                        "{shown}: OK — database {}, {} tenant{}{}",
                        cfg.database.redacted(),
                        names.len(),
                        if names.len() == 1 { "" } else { "s" },
                        if names.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", names.join(", "))
                        }
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(errors) => {
                    eprintln!("{errors}");
                    eprintln!(
                        "{shown}: {} problem{} found",
                        errors.len(),
                        if errors.len() == 1 { "" } else { "s" }
                    );
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
