//! One key: 32 random bytes, its text form and its id.

use std::fmt;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::aead::{CHACHA20_POLY1305, LessSafeKey, UnboundKey};
use ring::rand::{SecureRandom as _, SystemRandom};
use secrecy::SecretString;
use secrecy::zeroize::Zeroizing;
use sha2::{Digest as _, Sha256};

use crate::SecretError;

/// Length of a key in bytes.
pub(crate) const KEY_LEN: usize = 32;

/// Length of a key id in hex digits (8 bytes of SHA-256).
pub(crate) const KEY_ID_LEN: usize = 16;

/// One ChaCha20-Poly1305 key and its key id.
///
/// `Debug` shows only the key id. The key bytes are held by `ring` and are
/// never handed out again: the text form exists only when the key is
/// generated.
#[derive(Clone)]
pub struct Key {
    id: String,
    aead: LessSafeKey,
}

impl Key {
    /// A new random key, and its text (standard base64) to store in the key
    /// file or in `CHANGEDESK_SECRET_KEY`.
    pub fn generate() -> Result<(Key, SecretString), SecretError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        SystemRandom::new()
            .fill(bytes.as_mut_slice())
            .map_err(|_| SecretError::Internal("generate random bytes for a key"))?;
        let key = Key::from_bytes(&bytes)?;
        Ok((key, SecretString::from(STANDARD.encode(bytes.as_slice()))))
    }

    /// Reads a key from its text: standard base64 of 32 bytes, surrounding
    /// whitespace ignored.
    pub fn from_text(text: &str) -> Result<Key, SecretError> {
        Key::parse(text, "the given text")
    }

    /// The key id: the first 8 bytes of the SHA-256 of the key, as 16
    /// lower-case hex digits. Safe to show and log.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// [`Key::from_text`], naming `origin` (a variable, a file line) in
    /// errors.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Key, SecretError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(SecretError::bad_key(origin, "it is empty"));
        }
        // The decoder's own error names the offending character: not shown.
        let decoded = Zeroizing::new(STANDARD.decode(text).map_err(|_| {
            SecretError::bad_key(
                origin,
                "it is not standard base64 (A-Z, a-z, 0-9, +, / and = padding)",
            )
        })?);
        let bytes: Zeroizing<[u8; KEY_LEN]> =
            Zeroizing::new(decoded.as_slice().try_into().map_err(|_| {
                SecretError::bad_key(
                    origin,
                    format!(
                        "it decodes to {} bytes, but a key is {KEY_LEN} bytes",
                        decoded.len()
                    ),
                )
            })?);
        Key::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8; KEY_LEN]) -> Result<Key, SecretError> {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, bytes)
            .map_err(|_| SecretError::Internal("load a key"))?;
        Ok(Key {
            id: key_id(bytes),
            aead: LessSafeKey::new(unbound),
        })
    }

    pub(crate) fn aead(&self) -> &LessSafeKey {
        &self.aead
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key").field("id", &self.id).finish()
    }
}

/// First 8 bytes of SHA-256, lower-case hex.
fn key_id(bytes: &[u8; KEY_LEN]) -> String {
    let digest = Sha256::digest(bytes);
    let mut id = String::with_capacity(KEY_ID_LEN);
    for b in digest.iter().take(KEY_ID_LEN / 2) {
        // writing to a String cannot fail
        let _ = write!(id, "{b:02x}");
    }
    id
}

/// Whether `s` has the shape of a key id: 16 lower-case hex digits.
pub(crate) fn is_key_id(s: &str) -> bool {
    s.len() == KEY_ID_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
