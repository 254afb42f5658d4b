//! Where the keys come from: the environment or a key file.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use secrecy::zeroize::Zeroizing;
use secrecy::{ExposeSecret as _, SecretString};

use crate::{Key, Keyring, SecretError};

/// The environment variable that holds the key text.
pub const KEY_ENV: &str = "CHANGEDESK_SECRET_KEY";

/// A key file larger than this is refused: it holds a few lines of 44
/// characters, so anything bigger is the wrong file.
const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

/// Where the keys come from.
///
/// `Debug` does not show the key text (it is a [`SecretString`]).
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The value of [`KEY_ENV`]: one key, the primary. Rotation needs a key
    /// file, which can hold older keys.
    Env(SecretString),
    /// A key file: one key per line. The first key is the primary, later
    /// ones are older keys. Blank lines are skipped and `#` starts a comment
    /// (base64 has no `#`). On Unix the file must not be accessible by group
    /// or others (`chmod 600`), and it must be a regular file of at most
    /// 64 KiB.
    File(PathBuf),
    /// Neither is configured: loading fails with [`SecretError::NoKey`].
    Unconfigured,
}

impl KeySource {
    /// The source from the value of [`KEY_ENV`] and the configured key file
    /// (`[server] secret_key_file`). The environment wins over the file, as
    /// environment variables override the configuration file elsewhere in
    /// changedesk. An empty or blank variable counts as unset.
    ///
    /// The caller reads the environment, e.g.
    /// `KeySource::from_env_and_file(std::env::var(KEY_ENV).ok(), key_file)`,
    /// so this crate never touches the process environment.
    pub fn from_env_and_file(env_value: Option<String>, file: Option<PathBuf>) -> KeySource {
        match (env_value, file) {
            (Some(value), _) if !value.trim().is_empty() => {
                KeySource::Env(SecretString::from(value))
            }
            (_, Some(path)) => KeySource::File(path),
            _ => KeySource::Unconfigured,
        }
    }

    pub(crate) fn load(&self) -> Result<Keyring, SecretError> {
        match self {
            KeySource::Env(text) => {
                Ok(Keyring::new(Key::parse(text.expose_secret(), KEY_ENV)?, []))
            }
            KeySource::File(path) => load_file(path),
            KeySource::Unconfigured => Err(SecretError::NoKey),
        }
    }
}

/// For logs: names the source, never the key.
impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Env(_) => write!(f, "environment variable {KEY_ENV}"),
            KeySource::File(path) => write!(f, "key file {}", path.display()),
            KeySource::Unconfigured => f.write_str("no key configured"),
        }
    }
}

fn load_file(path: &Path) -> Result<Keyring, SecretError> {
    let io_error = |error| SecretError::KeyFile {
        path: path.to_owned(),
        error,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    // the metadata of the opened file, not of the path, which could change
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(io_error(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    check_permissions(path, &meta)?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(too_big(path));
    }
    // sized up front so that reading does not leave copies in freed memory
    let mut text = Zeroizing::new(String::with_capacity(
        usize::try_from(meta.len()).unwrap_or(0) + 1,
    ));
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io_error)?;
    if text.len() as u64 > MAX_KEY_FILE_BYTES {
        return Err(too_big(path));
    }
    parse_key_file(&text, path)
}

fn too_big(path: &Path) -> SecretError {
    SecretError::bad_key(
        format!("key file {}", path.display()),
        "the file is larger than 64 KiB, so it is not a key file",
    )
}

#[cfg(unix)]
fn check_permissions(path: &Path, meta: &std::fs::Metadata) -> Result<(), SecretError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(SecretError::KeyFilePermissions {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), SecretError> {
    Ok(())
}

/// The keys in a key file's text; `path` is for messages.
pub(crate) fn parse_key_file(text: &str, path: &Path) -> Result<Keyring, SecretError> {
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split_once('#').map_or(line, |(key, _comment)| key);
        if line.trim().is_empty() {
            continue;
        }
        let origin = format!("key file {}, line {}", path.display(), n + 1);
        keys.push(Key::parse(line, &origin)?);
    }
    let mut keys = keys.into_iter();
    let primary = keys.next().ok_or_else(|| {
        SecretError::bad_key(
            format!("key file {}", path.display()),
            "the file holds no key (one key per line; `#` starts a comment)",
        )
    })?;
    Ok(Keyring::new(primary, keys))
}
