use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use secrecy::ExposeSecret as _;

use crate::source::parse_key_file;
use crate::{KEY_ENV, Key, KeySource, Keyring, SecretError};

const CTX: &str = "channel/42/smtp_password";

/// The text of the key made of 32 copies of `byte`.
fn key_text(byte: u8) -> String {
    STANDARD.encode([byte; 32])
}

fn keyring(byte: u8) -> Keyring {
    Keyring::from_text(&key_text(byte), &[]).unwrap()
}

fn id_of(byte: u8) -> String {
    Key::from_text(&key_text(byte)).unwrap().id().to_owned()
}

/// Applies `f` to the decoded data of a sealed value and re-encodes it.
fn edit_data(sealed: &str, f: impl FnOnce(&mut Vec<u8>)) -> String {
    let (head, data) = sealed.rsplit_once(':').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(data).unwrap();
    f(&mut bytes);
    format!("{head}:{}", URL_SAFE_NO_PAD.encode(&bytes))
}

// ---- keys ----

#[test]
fn key_id_is_first_8_bytes_of_sha256_in_hex() {
    // sha256 of 32 zero bytes starts 66687aadf862bd77…
    assert_eq!(id_of(0), "66687aadf862bd77");
    assert_eq!(
        Key::from_text("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
            .unwrap()
            .id(),
        "66687aadf862bd77"
    );
}

#[test]
fn key_text_surrounding_whitespace_is_trimmed() {
    let text = format!("  \t{}\r\n", key_text(1));
    assert_eq!(Key::from_text(&text).unwrap().id(), id_of(1));
}

#[test]
fn generated_keys_are_random_and_their_text_reads_back() {
    let (a, a_text) = Key::generate().unwrap();
    let (b, b_text) = Key::generate().unwrap();
    assert_ne!(a.id(), b.id());
    assert_ne!(a_text.expose_secret(), b_text.expose_secret());
    assert_eq!(a_text.expose_secret().len(), 44);
    assert_eq!(Key::from_text(a_text.expose_secret()).unwrap().id(), a.id());
    assert_eq!(a.id().len(), 16);
    assert!(
        a.id()
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
}

#[test]
fn wrong_length_key_is_refused_with_the_length_and_source() {
    let short = STANDARD.encode([9u8; 16]);
    let err = Keyring::from_text(&short, &[]).unwrap_err();
    assert!(matches!(err, SecretError::BadKey { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("16 bytes"), "{msg}");
    assert!(msg.contains("primary key"), "{msg}");
    assert!(!msg.contains(&short), "message leaks the key text: {msg}");

    let long = STANDARD.encode([9u8; 33]);
    let msg = Key::from_text(&long).unwrap_err().to_string();
    assert!(msg.contains("33 bytes"), "{msg}");
    assert!(!msg.contains(&long), "{msg}");
}

#[test]
fn bad_key_text_is_refused_without_echoing_it() {
    for text in [
        "",
        "   ",
        "not base64 at all!",
        // URL-safe alphabet is not standard base64
        "____________________________________________",
        "é",
    ] {
        let err = Key::from_text(text).unwrap_err();
        assert!(
            matches!(err, SecretError::BadKey { .. }),
            "{text:?}: {err:?}"
        );
        if !text.trim().is_empty() {
            assert!(!err.to_string().contains(text), "{err}");
        }
    }
    // an older key is named by its position
    let err = Keyring::from_text(&key_text(1), &[&key_text(2), "nope"]).unwrap_err();
    assert!(err.to_string().contains("older key text #2"), "{err}");
}

#[test]
fn debug_shows_key_ids_only() {
    let text = key_text(5);
    let key = Key::from_text(&text).unwrap();
    let ring = Keyring::from_text(&text, &[&key_text(6)]).unwrap();
    let source = KeySource::from_env_and_file(Some(text.clone()), None);
    for debug in [
        format!("{key:?}"),
        format!("{ring:?}"),
        format!("{ring:#?}"),
        format!("{source:?}"),
        source.to_string(),
    ] {
        assert!(!debug.contains(&text), "{debug}");
        assert!(!debug.contains(&key_text(6)), "{debug}");
    }
    assert_eq!(format!("{key:?}"), format!("Key {{ id: {:?} }}", id_of(5)));
    assert_eq!(
        format!("{ring:?}"),
        format!(
            "Keyring {{ primary: {:?}, older: [{:?}] }}",
            id_of(5),
            id_of(6)
        )
    );
}

#[test]
fn keyring_drops_duplicate_older_keys() {
    let ring =
        Keyring::from_text(&key_text(1), &[&key_text(2), &key_text(1), &key_text(2)]).unwrap();
    assert_eq!(ring.primary_id(), id_of(1));
    assert_eq!(ring.key_ids(), [id_of(1), id_of(2)]);
}

#[test]
fn keyring_is_send_and_sync() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Keyring>();
    check::<Key>();
}

// ---- sealing and opening ----

#[test]
fn round_trip() {
    let ring = keyring(1);
    for plain in [
        "hunter2",
        "",
        "https://example.com/hook?sig=a+b/c",
        "pässwörd ✓ 🔑",
    ] {
        let sealed = ring.seal(plain, CTX).unwrap();
        assert_eq!(ring.open(&sealed, CTX).unwrap().expose_secret(), plain);
        assert!(!sealed.contains(plain) || plain.is_empty());
    }
}

#[test]
fn sealed_format_is_prefix_key_id_and_url_safe_data() {
    let ring = keyring(1);
    let sealed = ring.seal("hunter2", CTX).unwrap();
    let prefix = format!("cdsec1:{}:", id_of(1));
    let data = sealed.strip_prefix(&prefix).unwrap();
    assert!(
        data.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    // nonce (12) + "hunter2" (7) + tag (16)
    assert_eq!(URL_SAFE_NO_PAD.decode(data).unwrap().len(), 12 + 7 + 16);
}

#[test]
fn each_seal_uses_a_fresh_nonce() {
    let ring = keyring(1);
    let a = ring.seal("same", CTX).unwrap();
    let b = ring.seal("same", CTX).unwrap();
    assert_ne!(a, b);
    let nonce = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s.rsplit_once(':').unwrap().1)
            .unwrap()[..12]
            .to_vec()
    };
    assert_ne!(nonce(&a), nonce(&b));
    assert_eq!(ring.open(&a, CTX).unwrap().expose_secret(), "same");
    assert_eq!(ring.open(&b, CTX).unwrap().expose_secret(), "same");
}

#[test]
fn wrong_context_is_tampered() {
    let ring = keyring(1);
    let sealed = ring.seal("hunter2", CTX).unwrap();
    for other in [
        "channel/43/smtp_password",
        "channel/42/webhook_url",
        "",
        "channel/42/smtp_password ",
    ] {
        let err = ring.open(&sealed, other).unwrap_err();
        assert!(matches!(err, SecretError::Tampered), "{other:?}: {err:?}");
    }
}

#[test]
fn any_flipped_byte_is_tampered() {
    let ring = keyring(1);
    let sealed = ring.seal("hunter2", CTX).unwrap();
    let len = URL_SAFE_NO_PAD
        .decode(sealed.rsplit_once(':').unwrap().1)
        .unwrap()
        .len();
    // nonce, ciphertext and tag bytes alike
    for i in 0..len {
        let flipped = edit_data(&sealed, |b| b[i] ^= 0x01);
        let err = ring.open(&flipped, CTX).unwrap_err();
        assert!(matches!(err, SecretError::Tampered), "byte {i}: {err:?}");
    }
    // truncated or extended data
    let shorter = edit_data(&sealed, |b| {
        b.pop();
    });
    assert!(matches!(
        ring.open(&shorter, CTX),
        Err(SecretError::Tampered)
    ));
    let longer = edit_data(&sealed, |b| b.push(0));
    assert!(matches!(
        ring.open(&longer, CTX),
        Err(SecretError::Tampered)
    ));
}

#[test]
fn key_id_swapped_to_another_configured_key_is_tampered() {
    let ring = Keyring::from_text(&key_text(1), &[&key_text(2)]).unwrap();
    let sealed = ring.seal("hunter2", CTX).unwrap();
    let moved = sealed.replace(&id_of(1), &id_of(2));
    assert!(matches!(ring.open(&moved, CTX), Err(SecretError::Tampered)));
}

#[test]
fn rotation_opens_old_values_and_flags_them_for_reseal() {
    let old = keyring(1);
    let sealed_old = old.seal("hunter2", CTX).unwrap();
    assert!(!old.needs_reseal(&sealed_old));

    let rotated = Keyring::from_text(&key_text(2), &[&key_text(1)]).unwrap();
    assert_eq!(rotated.primary_id(), id_of(2));
    assert!(rotated.needs_reseal(&sealed_old));
    let plain = rotated.open(&sealed_old, CTX).unwrap();
    assert_eq!(plain.expose_secret(), "hunter2");

    let resealed = rotated.seal(plain.expose_secret(), CTX).unwrap();
    assert!(resealed.starts_with(&format!("cdsec1:{}:", id_of(2))));
    assert!(!rotated.needs_reseal(&resealed));
    // the old keyring cannot open what the new primary sealed
    assert!(matches!(
        old.open(&resealed, CTX),
        Err(SecretError::UnknownKey { .. })
    ));
}

#[test]
fn needs_reseal_is_true_for_what_cannot_be_opened_with_the_primary() {
    let ring = keyring(1);
    assert!(ring.needs_reseal(""));
    assert!(ring.needs_reseal("hunter2"));
    assert!(ring.needs_reseal("cdsec1:é:ü"));
    assert!(ring.needs_reseal(&keyring(3).seal("x", CTX).unwrap()));
    assert!(!ring.needs_reseal(&ring.seal("x", CTX).unwrap()));
}

#[test]
fn unknown_key_error_names_the_key_and_the_configured_ones() {
    let sealed = keyring(1).seal("hunter2", CTX).unwrap();
    let ring = Keyring::from_text(&key_text(2), &[&key_text(3)]).unwrap();
    let err = ring.open(&sealed, CTX).unwrap_err();
    match &err {
        SecretError::UnknownKey { key_id, known } => {
            assert_eq!(key_id, &id_of(1));
            assert_eq!(known, &[id_of(2), id_of(3)]);
        }
        other => panic!("expected UnknownKey, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&id_of(1)), "{msg}");
    assert!(
        msg.contains(&format!("{}, {}", id_of(2), id_of(3))),
        "{msg}"
    );
    assert!(msg.contains("was the secret key changed?"), "{msg}");
}

#[test]
fn malformed_inputs_are_malformed() {
    let ring = keyring(1);
    let id = id_of(1);
    let short = URL_SAFE_NO_PAD.encode([0u8; 27]);
    let inputs = [
        String::new(),
        "hunter2".to_owned(),
        "cdsec1:".to_owned(),
        "cdsec1:abc".to_owned(),
        "cdsec1::".to_owned(),
        "cdsec1:é:ü".to_owned(),
        "CDSEC1:".to_owned(),
        "cdsec2:0011223344556677:AAAA".to_owned(),
        format!(" cdsec1:{id}:AAAA"),
        // key id: wrong length, upper case, not hex
        format!("cdsec1:{}:AAAA", &id[..15]),
        format!("cdsec1:{}:AAAA", id.to_uppercase()),
        "cdsec1:zzzzzzzzzzzzzzzz:AAAA".to_owned(),
        // data: not base64url, padded, standard alphabet, empty, too short
        format!("cdsec1:{id}:not base64!"),
        format!("cdsec1:{id}:AAAA="),
        format!("cdsec1:{id}:++++"),
        format!("cdsec1:{id}:"),
        format!("cdsec1:{id}:{short}"),
        format!("cdsec1:{id}:ü"),
        format!("cdsec1:{id}:{short}:extra"),
    ];
    for input in &inputs {
        let err = ring.open(input, CTX).unwrap_err();
        assert!(
            matches!(err, SecretError::Malformed { .. }),
            "{input:?}: {err:?}"
        );
        assert!(err.to_string().contains("cdsec1:<key id>:<data>"), "{err}");
        assert!(ring.needs_reseal(input), "{input:?}");
    }
    // the shortest well-formed data (empty plaintext) is not Malformed
    let min = URL_SAFE_NO_PAD.encode([0u8; 28]);
    assert!(matches!(
        ring.open(&format!("cdsec1:{id}:{min}"), CTX),
        Err(SecretError::Tampered)
    ));
}

proptest! {
    #[test]
    fn open_never_panics_on_any_text(s in any::<String>()) {
        let _ = keyring(1).open(&s, CTX);
        let _ = keyring(1).needs_reseal(&s);
    }

    #[test]
    fn open_never_panics_on_near_sealed_text(
        id in "[0-9a-f]{16}|[0-9a-fé]{0,20}",
        data in "[A-Za-z0-9_=+/é:-]{0,90}",
    ) {
        let ring = keyring(1);
        let _ = ring.open(&format!("cdsec1:{id}:{data}"), CTX);
        let _ = ring.open(&format!("cdsec1:{}:{data}", id_of(1)), CTX);
    }

    #[test]
    fn seal_open_round_trips_any_unicode(plain in any::<String>(), ctx in any::<String>()) {
        let ring = keyring(1);
        let sealed = ring.seal(&plain, &ctx).unwrap();
        prop_assert!(sealed.is_ascii());
        let opened = ring.open(&sealed, &ctx).unwrap();
        prop_assert_eq!(opened.expose_secret(), plain.as_str());
    }
}

// ---- key sources and key files ----

#[test]
fn source_prefers_the_environment_and_ignores_a_blank_variable() {
    let file = PathBuf::from("/etc/changedesk/secret.key");
    assert!(matches!(
        KeySource::from_env_and_file(Some(key_text(1)), Some(file.clone())),
        KeySource::Env(_)
    ));
    assert!(matches!(
        KeySource::from_env_and_file(Some(" \n".into()), Some(file.clone())),
        KeySource::File(p) if p == file
    ));
    assert!(matches!(
        KeySource::from_env_and_file(None, None),
        KeySource::Unconfigured
    ));
    assert!(matches!(
        KeySource::from_env_and_file(Some(String::new()), None),
        KeySource::Unconfigured
    ));
}

#[test]
fn load_from_the_environment() {
    let ring = Keyring::load(&KeySource::from_env_and_file(Some(key_text(1)), None)).unwrap();
    assert_eq!(ring.key_ids(), [id_of(1)]);

    let err = Keyring::load(&KeySource::from_env_and_file(Some("short".into()), None)).unwrap_err();
    assert!(matches!(err, SecretError::BadKey { .. }));
    assert!(err.to_string().contains(KEY_ENV), "{err}");
}

#[test]
fn no_key_says_how_to_configure_one() {
    let err = Keyring::load(&KeySource::Unconfigured).unwrap_err();
    assert!(matches!(err, SecretError::NoKey));
    let msg = err.to_string();
    assert!(msg.contains("CHANGEDESK_SECRET_KEY"), "{msg}");
    assert!(msg.contains("key_file"), "{msg}");
    assert!(msg.contains("changedesk secrets generate-key"), "{msg}");
}

#[test]
fn key_file_first_key_is_primary_and_later_keys_are_older() {
    let text = format!(
        "# changedesk secret keys: the first is used to seal\n\
         \n\
         \x20 {}  # added 2025-06\n\
         \t\n\
         # older, kept until every value is resealed\n\
         {}\r\n\
         {}\n",
        key_text(1),
        key_text(2),
        key_text(3)
    );
    let ring = parse_key_file(&text, Path::new("secret.key")).unwrap();
    assert_eq!(ring.primary_id(), id_of(1));
    assert_eq!(ring.key_ids(), [id_of(1), id_of(2), id_of(3)]);
}

#[test]
fn key_file_errors_name_the_file_and_line() {
    let path = Path::new("/etc/changedesk/secret.key");
    let err = parse_key_file("# nothing here\n\n", path).unwrap_err();
    assert!(matches!(err, SecretError::BadKey { .. }));
    assert!(err.to_string().contains("holds no key"), "{err}");
    assert!(
        err.to_string().contains("/etc/changedesk/secret.key"),
        "{err}"
    );

    let bad = STANDARD.encode([1u8; 31]);
    let text = format!("{}\n# old\n{bad}\n", key_text(1));
    let msg = parse_key_file(&text, path).unwrap_err().to_string();
    assert!(msg.contains("/etc/changedesk/secret.key, line 3"), "{msg}");
    assert!(msg.contains("31 bytes"), "{msg}");
    assert!(!msg.contains(&bad), "{msg}");
}

#[cfg(unix)]
fn key_file_with_mode(contents: &str, mode: u32) -> tempfile::NamedTempFile {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(contents.as_bytes()).unwrap();
    file.flush().unwrap();
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    file
}

#[cfg(unix)]
#[test]
fn private_key_file_loads() {
    let contents = format!("{}\n{}\n", key_text(1), key_text(2));
    for mode in [0o600, 0o400] {
        let file = key_file_with_mode(&contents, mode);
        let source = KeySource::from_env_and_file(None, Some(file.path().to_owned()));
        let ring = Keyring::load(&source).unwrap();
        assert_eq!(ring.key_ids(), [id_of(1), id_of(2)]);
    }
}

#[cfg(unix)]
#[test]
fn key_file_readable_by_others_is_refused() {
    let contents = format!("{}\n", key_text(1));
    for mode in [0o640, 0o604, 0o644, 0o620, 0o602, 0o610, 0o666] {
        let file = key_file_with_mode(&contents, mode);
        let err = Keyring::load(&KeySource::File(file.path().to_owned())).unwrap_err();
        match &err {
            SecretError::KeyFilePermissions { path, mode: got } => {
                assert_eq!(path, file.path());
                assert_eq!(*got, mode);
            }
            other => panic!("mode {mode:o}: expected KeyFilePermissions, got {other:?}"),
        }
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("chmod 600 {}", file.path().display())),
            "{msg}"
        );
        assert!(msg.contains(&format!("{mode:04o}")), "{msg}");
        assert!(!msg.contains(&key_text(1)), "{msg}");
    }
}

#[test]
fn missing_key_file_or_directory_is_a_key_file_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.key");
    let err = Keyring::load(&KeySource::File(missing.clone())).unwrap_err();
    assert!(matches!(&err, SecretError::KeyFile { path, .. } if *path == missing));
    assert!(err.to_string().contains("nope.key"), "{err}");

    let err = Keyring::load(&KeySource::File(dir.path().to_owned())).unwrap_err();
    assert!(matches!(err, SecretError::KeyFile { .. }), "{err:?}");
}
