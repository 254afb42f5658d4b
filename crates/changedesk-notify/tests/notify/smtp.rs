//! E-mail against a real SMTP server: `tests/smtp_capture.py` (aiosmtpd)
//! started per test on a free port, writing each accepted message and what
//! Python's `email` package reads in it to a capture directory.
//!
//! These run only when `CHANGEDESK_TEST_SMTP` is set (non-empty); then a
//! missing aiosmtpd or `openssl` CLI fails the test. The interpreter is
//! `CHANGEDESK_TEST_SMTP_PYTHON` if set, else the first of
//! `/usr/bin/python3` and `python3` that can import aiosmtpd (Debian's
//! `python3-aiosmtpd` installs for `/usr/bin/python3`). TLS uses a CA and a
//! `localhost`/`127.0.0.1` certificate made with `openssl` per test, trusted
//! through `extra_root_pem`.
//!
//! The tests that need no server (nothing listening, a silent server) always
//! run.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use changedesk_notify::{
    EmailMessage, SendOutcome, SmtpAuth, SmtpMailer, SmtpSecurity, SmtpSettings,
};
use secrecy::SecretString;
use serde_json::Value;

const SKIP: &str = "skipped: set CHANGEDESK_TEST_SMTP=1 (needs python3-aiosmtpd)";
const HARNESS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_capture.py");
const FROM: &str = "changedesk <changedesk@example.com>";
const REPLY_TO: &str = "Ops Team <ops@example.com>";
const USER: &str = "sender@example.com";

fn enabled(test: &str) -> bool {
    if std::env::var_os("CHANGEDESK_TEST_SMTP").is_some_and(|v| !v.is_empty()) {
        true
    } else {
        eprintln!("{test}: {SKIP}");
        false
    }
}

/// The interpreter that can import aiosmtpd; panics (fails the test) when
/// there is none, as the SMTP tests were asked for.
fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let candidates: Vec<String> = match std::env::var("CHANGEDESK_TEST_SMTP_PYTHON") {
            Ok(p) if !p.is_empty() => vec![p],
            _ => vec!["/usr/bin/python3".to_owned(), "python3".to_owned()],
        };
        for candidate in &candidates {
            let ok = Command::new(candidate)
                .args(["-c", "import aiosmtpd"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ok {
                return candidate.clone();
            }
        }
        panic!(
            "CHANGEDESK_TEST_SMTP is set, but none of {candidates:?} can import aiosmtpd: \
             install Debian's python3-aiosmtpd (apt-get install python3-aiosmtpd) or set \
             CHANGEDESK_TEST_SMTP_PYTHON to an interpreter that has it"
        );
    })
}

/// A test CA and a server certificate it signed, valid for `localhost` and
/// `127.0.0.1`.
struct Certs {
    ca_pem: Vec<u8>,
    cert: PathBuf,
    key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "CHANGEDESK_TEST_SMTP is set, but the openssl CLI cannot run ({e}): \
                 install openssl to make the test certificates"
            )
        });
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn make_certs(dir: &Path) -> Certs {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\n\
         subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=changedesk test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req", "-new", "-nodes"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &csr);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
    Certs {
        ca_pem: std::fs::read(dir.join("ca.pem")).unwrap(),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    }
}

/// One test's temporary directory: certificates and capture directories.
struct Ctx {
    tmp: tempfile::TempDir,
}

impl Ctx {
    /// `None` (after printing the skip line) when the SMTP tests are off.
    fn new(test: &str) -> Option<Ctx> {
        if !enabled(test) {
            return None;
        }
        python();
        Some(Ctx {
            tmp: tempfile::tempdir().unwrap(),
        })
    }

    fn certs(&self) -> Certs {
        make_certs(&self.tmp.path().join("certs"))
    }

    /// Starts the harness with `args` and waits for `READY <port>`.
    fn server(&self, name: &str, args: &[&str]) -> Server {
        let dir = self.tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("server.log");
        let mut child = Command::new(python())
            .arg(HARNESS)
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {HARNESS}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // drain until the harness exits
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest);
        });
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        let port = line
            .trim()
            .strip_prefix("READY ")
            .and_then(|p| p.parse::<u16>().ok());
        let mut server = Server {
            child,
            port: 0,
            dir,
            log,
        };
        match port {
            Some(port) => server.port = port,
            None => panic!(
                "the SMTP harness did not start (first line {line:?}):\n{}",
                server.log()
            ),
        }
        server
    }
}

/// A running harness; killed on drop.
struct Server {
    child: Child,
    port: u16,
    dir: PathBuf,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What the harness recorded for the `n`th message (from 1).
    fn capture(&self, n: usize) -> Value {
        let path = self.dir.join(format!("{n}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("no capture {}: {e}\n{}", path.display(), self.log()));
        serde_json::from_str(&text).unwrap()
    }

    fn eml(&self, n: usize) -> Vec<u8> {
        std::fs::read(self.dir.join(format!("{n}.eml"))).unwrap()
    }

    /// How many messages were accepted.
    fn captured(&self) -> usize {
        std::fs::read_dir(&self.dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json"))
            })
            .count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn settings(host: &str, port: u16, security: SmtpSecurity, auth: SmtpAuth) -> SmtpSettings {
    SmtpSettings {
        host: host.to_owned(),
        port,
        security,
        auth,
        from: FROM.to_owned(),
        reply_to: Some(REPLY_TO.to_owned()),
        timeout: Duration::from_secs(10),
        extra_root_pem: None,
    }
}

fn trusting(mut s: SmtpSettings, certs: &Certs) -> SmtpSettings {
    s.extra_root_pem = Some(certs.ca_pem.clone());
    s
}

fn plain(password: &str) -> SmtpAuth {
    SmtpAuth::Plain {
        user: USER.to_owned(),
        password: SecretString::from(password),
    }
}

fn login(password: &str) -> SmtpAuth {
    SmtpAuth::Login {
        user: USER.to_owned(),
        password: SecretString::from(password),
    }
}

fn xoauth2(token: &str) -> SmtpAuth {
    SmtpAuth::XOAuth2 {
        user: USER.to_owned(),
        token: SecretString::from(token),
    }
}

fn message(to: &[&str]) -> EmailMessage {
    EmailMessage {
        message_id: "msg_e12_c3@changedesk.example".to_owned(),
        to: to.iter().map(|t| (*t).to_owned()).collect(),
        subject: "日本語: TPM 2.0 – a necessity".to_owned(),
        text: "Grüße – 日本語\nMC123456 changed: the rollout moved to May.\n".to_owned(),
        html: "<p>Grüße – 日本語</p><p>MC123456 changed: the rollout moved to <b>May</b>.</p>"
            .to_owned(),
        list_unsubscribe: Some("https://changedesk.example/unsubscribe?t=abc".to_owned()),
    }
}

fn mailer(s: SmtpSettings) -> SmtpMailer {
    SmtpMailer::new(s).unwrap()
}

fn assert_delivered(outcome: &SendOutcome, server: &Server) {
    assert_eq!(
        outcome,
        &SendOutcome::Delivered { status: 250 },
        "server log:\n{}",
        server.log()
    );
}

/// `text` contains neither `secret` nor any base64 form an AUTH exchange
/// carries it in.
fn assert_no_secret(text: &str, secret: &str) {
    let forms = [
        secret.to_owned(),
        STANDARD.encode(secret),
        STANDARD.encode(format!("\0{USER}\0{secret}")),
        STANDARD.encode(format!("user={USER}\x01auth=Bearer {secret}\x01\x01")),
    ];
    for form in forms {
        assert!(!text.contains(&form), "secret leaked in {text:?}");
    }
}

/// Text lines compared without regard to CRLF/LF and a final newline.
fn same_text(a: &str, b: &str) -> bool {
    let norm = |s: &str| s.replace("\r\n", "\n").trim_end().to_owned();
    norm(a) == norm(b)
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn plain_relay_delivers_and_the_message_reads_back() {
    let Some(ctx) = Ctx::new("plain_relay_delivers_and_the_message_reads_back") else {
        return;
    };
    let server = ctx.server("relay", &[]);
    let mailer = mailer(settings(
        "127.0.0.1",
        server.port,
        SmtpSecurity::Plain,
        SmtpAuth::None,
    ));
    assert_eq!(mailer.check().await, Ok(()));
    let msg = message(&["Ada Lovelace <ada@example.com>", "日本語 <jp@example.com>"]);
    let outcome = mailer.send(&msg).await;
    assert_delivered(&outcome, &server);

    let c = server.capture(1);
    assert_eq!(c["mail_from"], "changedesk@example.com");
    assert_eq!(
        strings(&c["rcpt_tos"]),
        ["ada@example.com", "jp@example.com"]
    );
    assert_eq!(c["auth_user"], Value::Null);
    assert_eq!(c["tls"], false);

    let m = &c["message"];
    assert_eq!(m["defects"], serde_json::json!([]), "{m:#}");
    let h = &m["headers"];
    assert_eq!(strings(&h["Subject"]), ["日本語: TPM 2.0 – a necessity"]);
    assert_eq!(
        strings(&h["Message-ID"]),
        ["<msg_e12_c3@changedesk.example>"]
    );
    assert_eq!(
        strings(&h["List-Unsubscribe"]),
        ["<https://changedesk.example/unsubscribe?t=abc>"]
    );
    assert_eq!(
        strings(&h["List-Unsubscribe-Post"]),
        ["List-Unsubscribe=One-Click"]
    );
    assert_eq!(strings(&h["MIME-Version"]), ["1.0"]);
    assert_eq!(strings(&h["Date"]).len(), 1);
    let a = &m["addresses"];
    assert_eq!(
        a["From"],
        serde_json::json!([["changedesk", "changedesk@example.com"]])
    );
    assert_eq!(
        a["Reply-To"],
        serde_json::json!([["Ops Team", "ops@example.com"]])
    );
    assert_eq!(
        a["To"],
        serde_json::json!([
            ["Ada Lovelace", "ada@example.com"],
            ["日本語", "jp@example.com"]
        ])
    );

    assert_eq!(m["content_type"], "multipart/alternative");
    let parts = m["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2, "{m:#}");
    assert_eq!(parts[0]["content_type"], "text/plain");
    assert_eq!(parts[1]["content_type"], "text/html");
    for part in parts {
        assert_eq!(part["charset"], "utf-8");
    }
    let plain = parts[0]["content"].as_str().unwrap();
    let html = parts[1]["content"].as_str().unwrap();
    assert!(same_text(plain, &msg.text), "{plain:?}");
    assert!(same_text(html, &msg.html), "{html:?}");

    // the raw message: an ASCII header block with the id exactly as given
    let eml = server.eml(1);
    let text = String::from_utf8(eml).unwrap();
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.is_ascii(), "{head}");
    assert!(
        format!("\r\n{head}\r\n").contains("\r\nMessage-ID: <msg_e12_c3@changedesk.example>\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn starttls_with_auth_plain_delivers() {
    let Some(ctx) = Ctx::new("starttls_with_auth_plain_delivers") else {
        return;
    };
    let certs = ctx.certs();
    let server = ctx.server(
        "starttls-plain",
        &[
            "--starttls",
            certs.cert.to_str().unwrap(),
            certs.key.to_str().unwrap(),
            "--auth",
            &format!("{USER}:pw-Plain-1"),
        ],
    );
    let mailer = mailer(trusting(
        settings(
            "localhost",
            server.port,
            SmtpSecurity::StartTls,
            plain("pw-Plain-1"),
        ),
        &certs,
    ));
    assert_eq!(mailer.check().await, Ok(()), "{}", server.log());
    assert_delivered(&mailer.send(&message(&["a@example.com"])).await, &server);
    let c = server.capture(1);
    assert_eq!(c["auth_user"], USER);
    assert_eq!(c["tls"], true);
    assert_eq!(strings(&c["rcpt_tos"]), ["a@example.com"]);
}

#[tokio::test]
async fn starttls_with_auth_login_delivers() {
    let Some(ctx) = Ctx::new("starttls_with_auth_login_delivers") else {
        return;
    };
    let certs = ctx.certs();
    let server = ctx.server(
        "starttls-login",
        &[
            "--starttls",
            certs.cert.to_str().unwrap(),
            certs.key.to_str().unwrap(),
            "--auth",
            &format!("{USER}:pw-Login-2"),
        ],
    );
    let mailer = mailer(trusting(
        settings(
            "localhost",
            server.port,
            SmtpSecurity::StartTls,
            login("pw-Login-2"),
        ),
        &certs,
    ));
    assert_delivered(&mailer.send(&message(&["a@example.com"])).await, &server);
    let c = server.capture(1);
    assert_eq!(c["auth_user"], USER);
    assert_eq!(c["tls"], true);
}

#[tokio::test]
async fn implicit_tls_with_xoauth2_delivers() {
    let Some(ctx) = Ctx::new("implicit_tls_with_xoauth2_delivers") else {
        return;
    };
    let certs = ctx.certs();
    let server = ctx.server(
        "implicit-xoauth2",
        &[
            "--implicit-tls",
            certs.cert.to_str().unwrap(),
            certs.key.to_str().unwrap(),
            "--xoauth2",
            &format!("{USER}:ya29.token-3"),
        ],
    );
    // an IP-literal host: the certificate's IP address is checked
    let mailer = mailer(trusting(
        settings(
            "127.0.0.1",
            server.port,
            SmtpSecurity::Tls,
            xoauth2("ya29.token-3"),
        ),
        &certs,
    ));
    assert_eq!(mailer.check().await, Ok(()), "{}", server.log());
    assert_delivered(&mailer.send(&message(&["a@example.com"])).await, &server);
    let c = server.capture(1);
    assert_eq!(c["auth_user"], USER);
    assert_eq!(c["tls"], true);
}

#[tokio::test]
async fn wrong_password_fails_with_535_and_never_shows_it() {
    let Some(ctx) = Ctx::new("wrong_password_fails_with_535_and_never_shows_it") else {
        return;
    };
    let certs = ctx.certs();
    let server = ctx.server(
        "wrong-password",
        &[
            "--starttls",
            certs.cert.to_str().unwrap(),
            certs.key.to_str().unwrap(),
            "--auth",
            &format!("{USER}:right-password"),
        ],
    );
    let wrong = "Wr0ng-Pa55word-xyz";
    for auth in [plain(wrong), login(wrong)] {
        let mechanism = auth.mechanism();
        let mailer = mailer(trusting(
            settings("localhost", server.port, SmtpSecurity::StartTls, auth),
            &certs,
        ));
        let outcome = mailer.send(&message(&["a@example.com"])).await;
        let SendOutcome::Failed {
            status: Some(535),
            error,
        } = &outcome
        else {
            panic!("{mechanism}: {outcome:?}\n{}", server.log());
        };
        assert!(
            error.contains(&format!("localhost:{}", server.port)),
            "{error}"
        );
        assert!(error.contains("535"), "{error}");
        assert!(
            error.contains("Authentication credentials invalid"),
            "{error}"
        );
        assert_no_secret(error, wrong);
        assert_no_secret(&format!("{outcome:?} {mailer:?}"), wrong);

        let checked = mailer.check().await.unwrap_err();
        assert!(checked.contains("535"), "{checked}");
        assert_no_secret(&checked, wrong);
    }
    assert_eq!(server.captured(), 0);
}

#[tokio::test]
async fn wrong_xoauth2_token_fails_and_never_shows_it() {
    let Some(ctx) = Ctx::new("wrong_xoauth2_token_fails_and_never_shows_it") else {
        return;
    };
    let certs = ctx.certs();
    let wrong = "ya29.expired-token-4";
    // a direct 535 (as Microsoft 365 answers), and a 334 error challenge
    // before the 535 (as Gmail answers)
    for (name, challenge) in [("xoauth2-535", false), ("xoauth2-challenge", true)] {
        let mut args = vec![
            "--implicit-tls".to_owned(),
            certs.cert.to_str().unwrap().to_owned(),
            certs.key.to_str().unwrap().to_owned(),
            "--xoauth2".to_owned(),
            format!("{USER}:ya29.good-token"),
        ];
        if challenge {
            args.push("--xoauth2-challenge".to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = ctx.server(name, &args);
        let mailer = mailer(trusting(
            settings("localhost", server.port, SmtpSecurity::Tls, xoauth2(wrong)),
            &certs,
        ));
        let outcome = mailer.send(&message(&["a@example.com"])).await;
        let SendOutcome::Failed { status, error } = &outcome else {
            panic!("{name}: {outcome:?}\n{}", server.log());
        };
        if challenge {
            assert_eq!(*status, None, "{error}");
            assert!(error.contains("XOAUTH2"), "{error}");
        } else {
            assert_eq!(*status, Some(535), "{error}");
        }
        assert!(
            error.contains(&format!("localhost:{}", server.port)),
            "{error}"
        );
        assert_no_secret(error, wrong);
        assert_eq!(server.captured(), 0);
    }
}

#[tokio::test]
async fn transient_451_is_retried() {
    let Some(ctx) = Ctx::new("transient_451_is_retried") else {
        return;
    };
    let server = ctx.server("busy", &["--reject", "busy@example.com:451"]);
    let mailer = mailer(settings(
        "127.0.0.1",
        server.port,
        SmtpSecurity::Plain,
        SmtpAuth::None,
    ));
    let outcome = mailer.send(&message(&["busy@example.com"])).await;
    let SendOutcome::Retry {
        status: Some(451),
        retry_after: None,
        error,
    } = &outcome
    else {
        panic!("{outcome:?}\n{}", server.log());
    };
    assert!(
        error.contains(&format!("127.0.0.1:{}: SMTP 451 4.2.1", server.port)),
        "{error}"
    );
    assert_eq!(server.captured(), 0);
}

#[tokio::test]
async fn permanent_550_fails() {
    let Some(ctx) = Ctx::new("permanent_550_fails") else {
        return;
    };
    let server = ctx.server("nobody", &["--reject", "nobody@example.com:550"]);
    let mailer = mailer(settings(
        "127.0.0.1",
        server.port,
        SmtpSecurity::Plain,
        SmtpAuth::None,
    ));
    let outcome = mailer.send(&message(&["nobody@example.com"])).await;
    let SendOutcome::Failed {
        status: Some(550),
        error,
    } = &outcome
    else {
        panic!("{outcome:?}\n{}", server.log());
    };
    assert!(
        error.contains(&format!(
            "127.0.0.1:{}: SMTP 550 5.1.1 no such user",
            server.port
        )),
        "{error}"
    );
    assert_eq!(server.captured(), 0);
}

#[tokio::test]
async fn authentication_required_but_not_configured_fails_with_530() {
    let Some(ctx) = Ctx::new("authentication_required_but_not_configured_fails_with_530") else {
        return;
    };
    let server = ctx.server("needs-auth", &["--auth", "someone:secret"]);
    let mailer = mailer(settings(
        "127.0.0.1",
        server.port,
        SmtpSecurity::Plain,
        SmtpAuth::None,
    ));
    let outcome = mailer.send(&message(&["a@example.com"])).await;
    assert!(
        matches!(
            &outcome,
            SendOutcome::Failed { status: Some(530), error } if error.contains("requires authentication")
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn starttls_not_offered_fails() {
    let Some(ctx) = Ctx::new("starttls_not_offered_fails") else {
        return;
    };
    let server = ctx.server("no-starttls", &[]);
    let mailer = mailer(settings(
        "localhost",
        server.port,
        SmtpSecurity::StartTls,
        SmtpAuth::None,
    ));
    let outcome = mailer.send(&message(&["a@example.com"])).await;
    assert!(
        matches!(&outcome, SendOutcome::Failed { status: None, error } if error.contains("STARTTLS")),
        "{outcome:?}"
    );
    assert_eq!(server.captured(), 0);
}

#[tokio::test]
async fn untrusted_certificate_is_retried() {
    let Some(ctx) = Ctx::new("untrusted_certificate_is_retried") else {
        return;
    };
    let certs = ctx.certs();
    for (name, security, tls_args) in [
        ("untrusted-starttls", SmtpSecurity::StartTls, "--starttls"),
        ("untrusted-implicit", SmtpSecurity::Tls, "--implicit-tls"),
    ] {
        let server = ctx.server(
            name,
            &[
                tls_args,
                certs.cert.to_str().unwrap(),
                certs.key.to_str().unwrap(),
            ],
        );
        // the test CA is not trusted
        let mailer = mailer(settings("localhost", server.port, security, SmtpAuth::None));
        let outcome = mailer.send(&message(&["a@example.com"])).await;
        let SendOutcome::Retry {
            status: None,
            error,
            ..
        } = &outcome
        else {
            panic!("{name}: {outcome:?}");
        };
        assert!(
            error.contains(&format!("localhost:{}", server.port)),
            "{error}"
        );
        assert!(error.contains(": TLS failed: "), "{error}");
        assert!(error.to_lowercase().contains("certificate"), "{error}");
        assert!(mailer.check().await.is_err());
        assert_eq!(server.captured(), 0);
    }
}

/// A minimal `tracing` subscriber that keeps every event's fields as text.
struct Recorder(Arc<Mutex<String>>);

struct FieldText<'a>(&'a mut String);

impl tracing::field::Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = self.0.lock().unwrap();
        let _ = write!(text, "\n{}:", event.metadata().target());
        event.record(&mut FieldText(&mut text));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn no_log_event_carries_the_password_or_the_transcript() {
    let Some(ctx) = Ctx::new("no_log_event_carries_the_password_or_the_transcript") else {
        return;
    };
    let certs = ctx.certs();
    let password = "L0gged-Pa55word-never";
    let server = ctx.server(
        "logs",
        &[
            "--starttls",
            certs.cert.to_str().unwrap(),
            certs.key.to_str().unwrap(),
            "--auth",
            &format!("{USER}:{password}"),
        ],
    );
    let events = Arc::new(Mutex::new(String::new()));
    let _guard = tracing::subscriber::set_default(Recorder(Arc::clone(&events)));
    // one thread, so every event reaches this thread's subscriber
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for auth in [plain(password), login(password)] {
        let mailer = mailer(trusting(
            settings("localhost", server.port, SmtpSecurity::StartTls, auth),
            &certs,
        ));
        let outcome = runtime.block_on(mailer.send(&message(&["a@example.com"])));
        assert_delivered(&outcome, &server);
        assert_eq!(runtime.block_on(mailer.check()), Ok(()));
    }
    let events = events.lock().unwrap().clone();
    assert!(events.contains("e-mail delivered"), "{events}");
    assert_no_secret(&events, password);
    assert!(!events.contains("AUTH"), "{events}");
    assert!(!events.contains("MC123456"), "{events}");
}

#[tokio::test]
async fn nothing_listening_is_retried() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mailer = mailer(settings(
        "127.0.0.1",
        port,
        SmtpSecurity::Plain,
        SmtpAuth::None,
    ));
    let outcome = mailer.send(&message(&["a@example.com"])).await;
    let SendOutcome::Retry {
        status: None,
        error,
        ..
    } = &outcome
    else {
        panic!("{outcome:?}");
    };
    assert!(
        error.starts_with(&format!("127.0.0.1:{port}: connection failed: ")),
        "{error}"
    );
    assert!(mailer.check().await.is_err());
}

#[tokio::test]
async fn a_silent_server_times_out_and_is_retried() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // accepts and never says a word
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(2) {
            held.push(stream);
        }
        std::thread::sleep(Duration::from_secs(10));
    });
    let mut s = settings("127.0.0.1", port, SmtpSecurity::Plain, SmtpAuth::None);
    s.timeout = Duration::from_millis(500);
    let mailer = mailer(s);
    let started = std::time::Instant::now();
    let outcome = mailer.send(&message(&["a@example.com"])).await;
    assert!(started.elapsed() < Duration::from_secs(5));
    let SendOutcome::Retry {
        status: None,
        error,
        ..
    } = &outcome
    else {
        panic!("{outcome:?}");
    };
    assert!(error.contains("timed out"), "{error}");
    assert!(error.starts_with(&format!("127.0.0.1:{port}: ")), "{error}");
}
