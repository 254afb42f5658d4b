//! Secrets at rest: a key file's text, and a sealed value as the database
//! returns it, opened with a fixed keyring (never panics, whatever the text).
//! Input: key file text, U+0001, sealed text (or one text for both).
#![no_main]
use changedesk_secrets::Keyring;
use libfuzzer_sys::fuzz_target;

/// A fixed key: the fuzzer mutates sealed values made with it (the seeds).
const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let (file, sealed) = s.split_once('\u{1}').unwrap_or((s, s));
    if let Ok(ring) = Keyring::from_key_file_text(file, std::path::Path::new("fuzz.key")) {
        let _ = ring.key_ids();
        let _ = ring.open(sealed, "channel/1/password");
    }
    let ring = Keyring::from_text(KEY, &[]).expect("the fixed key");
    let _ = ring.needs_reseal(sealed);
    if let Ok(plain) = ring.open(sealed, "channel/1/password") {
        use secrecy::ExposeSecret as _;
        let _ = ring.seal(plain.expose_secret(), "channel/1/password");
    }
});
