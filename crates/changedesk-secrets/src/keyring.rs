//! The keyring, and sealing and opening values.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{Aad, NONCE_LEN, Nonce};
use ring::rand::{SecureRandom as _, SystemRandom};
use secrecy::SecretString;
use secrecy::zeroize::Zeroizing;

use crate::key::is_key_id;
use crate::{Key, KeySource, SecretError};

/// Start of every sealed value; the `1` is the format version.
const PREFIX: &str = "cdsec1:";

/// Length of the Poly1305 tag.
const TAG_LEN: usize = 16;

/// The primary key, which seals, and older keys, which only open.
///
/// `Debug` shows only key ids. Cheap to share: wrap it in an `Arc`, or clone
/// it.
#[derive(Clone)]
pub struct Keyring {
    primary: Key,
    older: Vec<Key>,
    rng: SystemRandom,
}

impl Keyring {
    /// A keyring from keys. An older key with the same id as the primary or
    /// as an earlier older key is dropped: it is the same key.
    pub fn new(primary: Key, older: impl IntoIterator<Item = Key>) -> Keyring {
        let mut keys: Vec<Key> = Vec::new();
        for key in older {
            if key.id() != primary.id() && keys.iter().all(|k| k.id() != key.id()) {
                keys.push(key);
            }
        }
        Keyring {
            primary,
            older: keys,
            rng: SystemRandom::new(),
        }
    }

    /// A keyring from key texts (standard base64 of 32 bytes each).
    pub fn from_text(primary: &str, older: &[&str]) -> Result<Keyring, SecretError> {
        let primary = Key::parse(primary, "the primary key text")?;
        let older = older
            .iter()
            .enumerate()
            .map(|(i, text)| Key::parse(text, &format!("older key text #{}", i + 1)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Keyring::new(primary, older))
    }

    /// A keyring from a key file's text (one key per line, the first the
    /// primary; `#` comments), as [`KeySource::File`] reads it after its
    /// checks of the file; `path` only names it in messages.
    pub fn from_key_file_text(text: &str, path: &std::path::Path) -> Result<Keyring, SecretError> {
        crate::source::parse_key_file(text, path)
    }

    /// A keyring from where the configuration says the key is.
    ///
    /// [`KeySource::Unconfigured`] is [`SecretError::NoKey`]. A key file is
    /// checked and read as described at [`KeySource::File`].
    pub fn load(source: &KeySource) -> Result<Keyring, SecretError> {
        source.load()
    }

    /// The id of the primary key, which [`Keyring::seal`] uses.
    pub fn primary_id(&self) -> &str {
        self.primary.id()
    }

    /// The ids of all keys, primary first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys().map(Key::id).collect()
    }

    /// Encrypts `plaintext` with the primary key, bound to `context`.
    ///
    /// `context` names where the value will be stored, such as
    /// `channel/42/smtp_password`; [`Keyring::open`] needs the same context.
    /// Use the row's stable id, not something that can be renamed. Each call
    /// uses a fresh random nonce, so sealing the same text twice gives
    /// different results.
    pub fn seal(&self, plaintext: &str, context: &str) -> Result<String, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| SecretError::Internal("generate a random nonce"))?;
        // zeroed on drop in case sealing fails and leaves the plaintext here
        let mut body = Zeroizing::new(plaintext.as_bytes().to_vec());
        let tag = self
            .primary
            .aead()
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                body.as_mut_slice(),
            )
            .map_err(|_| SecretError::Internal("encrypt a value"))?;
        let mut payload = Vec::with_capacity(NONCE_LEN + body.len() + TAG_LEN);
        payload.extend_from_slice(&nonce);
        payload.extend_from_slice(&body);
        payload.extend_from_slice(tag.as_ref());
        Ok(format!(
            "{PREFIX}{}:{}",
            self.primary.id(),
            URL_SAFE_NO_PAD.encode(&payload)
        ))
    }

    /// Decrypts a value made by [`Keyring::seal`] with any key of this
    /// keyring, checking that it was sealed for `context`.
    ///
    /// Never panics, whatever `sealed` holds: text that is not a sealed value
    /// is [`SecretError::Malformed`].
    pub fn open(&self, sealed: &str, context: &str) -> Result<SecretString, SecretError> {
        let parsed = Parsed::from_text(sealed)?;
        let key = self
            .keys()
            .find(|k| k.id() == parsed.key_id)
            .ok_or_else(|| SecretError::UnknownKey {
                key_id: parsed.key_id.to_owned(),
                known: self.key_ids().into_iter().map(str::to_owned).collect(),
            })?;
        let mut body = Zeroizing::new(parsed.body);
        let len = key
            .aead()
            .open_in_place(
                Nonce::assume_unique_for_key(parsed.nonce),
                Aad::from(context.as_bytes()),
                body.as_mut_slice(),
            )
            .map_err(|_| SecretError::Tampered)?
            .len();
        body.truncate(len);
        // Authentic, so sealed by us from a `&str`: not UTF-8 cannot happen.
        let text = std::str::from_utf8(&body)
            .map_err(|_| SecretError::malformed("the opened value is not UTF-8 text"))?;
        Ok(SecretString::from(text))
    }

    /// Whether `sealed` should be sealed again with the primary key: false
    /// only for a well-formed value sealed with the primary key.
    ///
    /// True for a value sealed with an older key, and also for one that is
    /// malformed or sealed with an unknown key, so that a rotation pass
    /// (open, then seal again) reports those as errors instead of silently
    /// skipping them. Does not check authenticity; [`Keyring::open`] does.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        Parsed::from_text(sealed).map_or(true, |p| p.key_id != self.primary.id())
    }

    /// All keys, primary first.
    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.primary).chain(&self.older)
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("primary", &self.primary.id())
            .field("older", &self.older.iter().map(Key::id).collect::<Vec<_>>())
            .finish()
    }
}

/// The parts of a sealed value. Nothing here is secret.
struct Parsed<'a> {
    key_id: &'a str,
    nonce: [u8; NONCE_LEN],
    /// ciphertext ‖ tag
    body: Vec<u8>,
}

impl<'a> Parsed<'a> {
    /// Splits `cdsec1:<key id>:<data>`. Messages do not echo the input.
    fn from_text(sealed: &'a str) -> Result<Parsed<'a>, SecretError> {
        let rest = sealed.strip_prefix(PREFIX).ok_or_else(|| {
            SecretError::malformed("it does not start with `cdsec1:`; is it an unsealed value?")
        })?;
        let (key_id, data) = rest
            .split_once(':')
            .ok_or_else(|| SecretError::malformed("it has no `:` after the key id"))?;
        if !is_key_id(key_id) {
            return Err(SecretError::malformed(
                "the key id is not 16 lower-case hex digits",
            ));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| SecretError::malformed("the data is not unpadded URL-safe base64"))?;
        let (nonce, body) = bytes
            .split_first_chunk::<NONCE_LEN>()
            .filter(|(_, body)| body.len() >= TAG_LEN)
            .ok_or_else(|| {
                SecretError::malformed(format!(
                    "the data is {} bytes, shorter than a nonce and a tag ({} bytes)",
                    bytes.len(),
                    NONCE_LEN + TAG_LEN
                ))
            })?;
        Ok(Parsed {
            key_id,
            nonce: *nonce,
            body: body.to_vec(),
        })
    }
}
