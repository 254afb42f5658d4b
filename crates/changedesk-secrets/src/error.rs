//! What can go wrong with keys and sealed values.
//!
//! Messages say how to fix the problem, and never contain key material
//! (bytes or text) or a plaintext: they name sources, file paths and key ids
//! only. Sealed values are not echoed either.

use std::path::PathBuf;

/// An error from loading keys, sealing or opening.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// No key is configured at all.
    #[error(
        "no secret key is configured: set CHANGEDESK_SECRET_KEY or point `[server] secret_key_file` \
         at a key file (`changedesk secrets generate-key --write PATH` makes one)"
    )]
    NoKey,

    /// A key's text is not a key: not base64, or not 32 bytes.
    #[error(
        "the secret key from {origin} is not usable: {why} (a key is 32 random bytes in \
         standard base64, 44 characters; `changedesk secrets generate-key` makes one)"
    )]
    BadKey {
        /// Where the key came from, e.g. `CHANGEDESK_SECRET_KEY` or
        /// `key file /etc/changedesk/secret.key, line 2`.
        origin: String,
        /// What is wrong with it.
        why: String,
    },

    /// The key file cannot be opened or read.
    #[error("cannot read the secret key file {}: {error}", path.display())]
    KeyFile {
        path: PathBuf,
        error: std::io::Error,
    },

    /// The key file can be read or written by users other than its owner.
    #[error(
        "the secret key file {} is accessible by group or others (mode {mode:04o}); \
         make it private with `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    KeyFilePermissions {
        path: PathBuf,
        /// The permission bits (`mode & 0o7777`).
        mode: u32,
    },

    /// The value was sealed with a key that is not in the keyring.
    #[error(
        "the value was sealed with key {key_id}, which is not configured (configured: {}): \
         was the secret key changed? Add the old key to the key file, after the current one",
        known.join(", ")
    )]
    UnknownKey {
        /// The id recorded in the sealed value.
        key_id: String,
        /// The ids of the configured keys, primary first.
        known: Vec<String>,
    },

    /// Authentication failed: the sealed value or its context was altered,
    /// or the value belongs to another row or field.
    #[error(
        "the sealed value failed authentication: it was altered, or it was sealed for another \
         row or field (context), or with a different key that has the same key id"
    )]
    Tampered,

    /// The text is not a sealed value (`cdsec1:<key id>:<data>`).
    #[error("not a sealed value ({why}); expected `cdsec1:<key id>:<data>`")]
    Malformed { why: String },

    /// The operating system's random number generator or the cipher failed.
    /// Should not happen.
    #[error("the cryptography library failed to {0}; this should not happen, please report it")]
    Internal(&'static str),
}

impl SecretError {
    pub(crate) fn malformed(why: impl Into<String>) -> Self {
        SecretError::Malformed { why: why.into() }
    }

    pub(crate) fn bad_key(origin: impl Into<String>, why: impl Into<String>) -> Self {
        SecretError::BadKey {
            origin: origin.into(),
            why: why.into(),
        }
    }
}
