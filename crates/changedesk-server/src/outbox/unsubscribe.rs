//! Signed unsubscribe links: every e-mail carries one per recipient (in
//! the body, and as `List-Unsubscribe` with RFC 8058 one-click where the
//! transport allows headers), and following it needs no sign-in.
//!
//! The token is the channel's id and the address, sealed with the secret
//! key (`changedesk-secrets`, context `unsubscribe`): it cannot be forged
//! or altered, names nothing readable, and keeps working across key
//! rotations while the old key is kept. A token that does not open is
//! refused without touching the store.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use changedesk_secrets::Keyring;
use secrecy::ExposeSecret as _;

/// What the templates print where a recipient's own link goes; each
/// recipient's message gets its link in its place.
pub const PLACEHOLDER: &str = "CHANGEDESK0UNSUBSCRIBE0LINK";

const CONTEXT: &str = "unsubscribe";

/// The longest token accepted (a real one is about 150 characters).
const MAX_TOKEN: usize = 1024;

/// The token of `address` on channel `channel_id`.
pub fn token(ring: &Keyring, channel_id: i64, address: &str) -> Result<String, String> {
    let sealed = ring
        .seal(
            &format!("{channel_id}\n{}", address.trim().to_ascii_lowercase()),
            CONTEXT,
        )
        .map_err(|e| e.to_string())?;
    Ok(URL_SAFE_NO_PAD.encode(sealed))
}

/// The channel id and address of a token, if it is one of ours.
pub fn open(ring: &Keyring, token: &str) -> Option<(i64, String)> {
    if token.len() > MAX_TOKEN {
        return None;
    }
    let sealed = String::from_utf8(URL_SAFE_NO_PAD.decode(token.trim()).ok()?).ok()?;
    let text = ring.open(&sealed, CONTEXT).ok()?;
    let (id, address) = text.expose_secret().split_once('\n')?;
    Some((id.parse().ok()?, address.to_string()))
}

/// The link of `token` under changedesk's public address.
pub fn url(public_url: &str, token: &str) -> String {
    format!("{}/unsubscribe/{token}", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_open_only_with_their_key_and_unaltered() {
        let ring = Keyring::new(changedesk_secrets::Key::generate().unwrap().0, []);
        let t = token(&ring, 42, " Ops@Contoso.com ").unwrap();
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(open(&ring, &t), Some((42, "ops@contoso.com".into())));
        let other = Keyring::new(changedesk_secrets::Key::generate().unwrap().0, []);
        assert_eq!(open(&other, &t), None);
        let mut altered: Vec<char> = t.chars().collect();
        let i = altered.len() / 2;
        altered[i] = if altered[i] == 'A' { 'B' } else { 'A' };
        assert_eq!(open(&ring, &altered.into_iter().collect::<String>()), None);
        for junk in ["", "x", "日本語", &"A".repeat(5000)] {
            assert_eq!(open(&ring, junk), None);
        }
        assert_eq!(
            url("https://cd.example/", "abc"),
            "https://cd.example/unsubscribe/abc"
        );
    }
}
