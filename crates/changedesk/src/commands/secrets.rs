//! `changedesk secrets`: the key that seals the secrets the database keeps
//! (see the `changedesk-secrets` crate): making one, and checking the one
//! configured.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use changedesk_secrets::{KEY_ENV, Key, KeySource, Keyring};
use secrecy::ExposeSecret;

use crate::app::App;
use crate::cli::SecretsCommand;

/// Where the configuration says the key is: `CHANGEDESK_SECRET_KEY`, else
/// `[server] secret_key_file`.
pub fn key_source(app: &App) -> KeySource {
    KeySource::from_env_and_file(
        std::env::var(KEY_ENV).ok(),
        app.config.server.secret_key_file.clone(),
    )
}

pub fn run(app: &App, cmd: SecretsCommand) -> Result<ExitCode> {
    match cmd {
        SecretsCommand::GenerateKey { write } => {
            let (key, text) = Key::generate()?;
            match write {
                None => println!("{}", text.expose_secret()),
                Some(path) => {
                    let mut options = std::fs::OpenOptions::new();
                    options.write(true).create_new(true);
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::OpenOptionsExt as _;
                        options.mode(0o600);
                    }
                    let mut file = match options.open(&path) {
                        Ok(f) => f,
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => bail!(
                            "{} exists: a key file is never overwritten (its key may seal stored secrets); \
                             to rotate, put a new key on the first line and keep the old one below it",
                            path.display()
                        ),
                        Err(e) => {
                            return Err(e)
                                .with_context(|| format!("cannot create {}", path.display()));
                        }
                    };
                    writeln!(
                        file,
                        "# changedesk secret key {}: seals the secrets the database keeps.\n\
                         # Back it up apart from the database: without it they cannot be opened.\n{}",
                        key.id(),
                        text.expose_secret()
                    )
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!(
                        "wrote key {} to {}; set `[server] secret_key_file = \"{}\"` in the configuration",
                        key.id(),
                        path.display(),
                        path.display()
                    );
                }
            }
        }
        SecretsCommand::Check => {
            let source = key_source(app);
            let ring = Keyring::load(&source)?;
            let sealed = ring.seal("changedesk", "secrets/check")?;
            let opened = ring.open(&sealed, "secrets/check")?;
            if opened.expose_secret() != "changedesk" {
                bail!("the key sealed a value it then opened differently");
            }
            println!(
                "secret key from {source}: primary key {}{}",
                ring.primary_id(),
                match ring.key_ids().get(1..) {
                    Some(older) if !older.is_empty() =>
                        format!(", older keys {}", older.join(", ")),
                    _ => String::new(),
                }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
