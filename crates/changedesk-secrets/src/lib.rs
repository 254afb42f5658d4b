//! changedesk-secrets: secrets at rest.
//!
//! Channel passwords, webhook URLs, signing keys and the like are stored in
//! the database *sealed*: encrypted and authenticated with a key that lives
//! outside the database. This crate is the one place that knows how.
//!
//! # What it protects against
//!
//! A copy of the database (a backup, a dump attached to a ticket, a stolen
//! disk) does not reveal the secrets without the key, and a sealed value
//! cannot be altered, nor copied to another row or field, without [`Keyring::open`]
//! noticing. It does not protect against someone who holds both the database
//! and the key, and it cannot help if the key is lost: sealed values are then
//! gone for good, so keep a copy of the key apart from the database backups.
//!
//! # Keys
//!
//! A [`Key`] is 32 random bytes, written as standard base64 (44 characters);
//! [`Key::generate`] makes one. Each key has a *key id*, the first 8 bytes
//! of the SHA-256 of the key as 16 lower-case hex digits. The id is recorded
//! in every sealed value, is safe to show and log, and is what `Debug` and
//! error messages print: key bytes and key text never appear in either.
//!
//! A [`Keyring`] holds the *primary* key, which seals, plus any number of
//! *older* keys, which only open. It comes from a [`KeySource`]: the
//! environment variable [`KEY_ENV`] (`CHANGEDESK_SECRET_KEY`, one key) or a
//! key file (one key per line; the first is the primary, later ones are
//! older; `#` starts a comment). On Unix a key file must not be accessible
//! by group or others (`chmod 600`).
//!
//! # Sealed values
//!
//! [`Keyring::seal`] returns text for a `TEXT` column:
//!
//! ```text
//! cdsec1:<key id>:<base64url, unpadded, of nonce ‖ ciphertext ‖ tag>
//! ```
//!
//! The cipher is ChaCha20-Poly1305 (from `ring`, the project's only crypto
//! provider) with a random 96-bit nonce per seal. The caller's *context*
//! string, which names where the value is stored (for example
//! `channel/42/smtp_password`), is the associated data: it is not stored, it
//! must be given again to open, and a value opened with another context
//! fails as [`SecretError::Tampered`].
//!
//! # Rotating the key
//!
//! 1. Generate a new key and put it first in the key file, keeping the old
//!    key on a later line. New values are sealed with the new key; old values
//!    still open.
//! 2. Reseal every value for which [`Keyring::needs_reseal`] is true (open,
//!    then seal again with the same context).
//! 3. Remove the old key from the file.
//!
//! ```
//! use changedesk_secrets::{Key, Keyring};
//! use secrecy::ExposeSecret;
//!
//! let (_, old_text) = Key::generate()?;
//! let old = Keyring::from_text(old_text.expose_secret(), &[])?;
//! let sealed = old.seal("hunter2", "channel/42/smtp_password")?;
//!
//! // rotation: a new primary key, the old one kept for opening
//! let (_, new_text) = Key::generate()?;
//! let rotated = Keyring::from_text(new_text.expose_secret(), &[old_text.expose_secret()])?;
//! assert!(rotated.needs_reseal(&sealed));
//! let plain = rotated.open(&sealed, "channel/42/smtp_password")?;
//! let resealed = rotated.seal(plain.expose_secret(), "channel/42/smtp_password")?;
//! assert!(!rotated.needs_reseal(&resealed));
//! # Ok::<(), changedesk_secrets::SecretError>(())
//! ```

// Outside text (sealed values from the database, key files) is never sliced
// or indexed by byte position: parsing must not panic on any input.
#![cfg_attr(not(test), deny(clippy::string_slice, clippy::indexing_slicing))]

mod error;
mod key;
mod keyring;
mod source;

#[cfg(test)]
mod tests;

pub use error::SecretError;
pub use key::Key;
pub use keyring::Keyring;
pub use source::{KEY_ENV, KeySource};
