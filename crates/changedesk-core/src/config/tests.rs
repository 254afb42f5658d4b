use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;

use super::*;

const GUID_A: &str = "11111111-2222-3333-4444-555555555555";
const GUID_B: &str = "66666666-7777-8888-9999-aaaaaaaaaaaa";
const SECRET: &str = "Sup3r~Secret.Value-0001";

fn env(vars: &[(&str, &str)]) -> BTreeMap<String, String> {
    vars.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A fake filesystem for `_FILE` secrets.
fn files(entries: &[(&str, &str)]) -> impl Fn(&Path) -> Result<String, String> {
    let map: BTreeMap<PathBuf, String> = entries
        .iter()
        .map(|(p, c)| (PathBuf::from(p), c.to_string()))
        .collect();
    move |p: &Path| {
        map.get(p)
            .cloned()
            .ok_or_else(|| "No such file or directory (os error 2)".to_owned())
    }
}

fn no_files(p: &Path) -> Result<String, String> {
    panic!("unexpected read of {}", p.display())
}

fn load_with(
    text: Option<&str>,
    vars: &[(&str, &str)],
    cli: CliOverrides<'_>,
    read: &dyn Fn(&Path) -> Result<String, String>,
) -> Result<Loaded, ConfigErrors> {
    let env = env(vars);
    let sources = Sources {
        file: text.map(|text| ConfigFile {
            path: "changedesk.toml",
            text,
        }),
        env: &env,
        cli,
    };
    load(&sources, read)
}

fn load_ok(text: &str, vars: &[(&str, &str)]) -> Loaded {
    match load_with(Some(text), vars, CliOverrides::default(), &no_files) {
        Ok(l) => l,
        Err(e) => panic!("expected success, got:\n{e}"),
    }
}

fn load_err(text: &str, vars: &[(&str, &str)]) -> Vec<String> {
    load_err_with(text, vars, &no_files)
}

fn load_err_with(
    text: &str,
    vars: &[(&str, &str)],
    read: &dyn Fn(&Path) -> Result<String, String>,
) -> Vec<String> {
    match load_with(Some(text), vars, CliOverrides::default(), read) {
        Ok(l) => panic!("expected an error, got {:?}", l.config),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

fn check_err(text: &str) -> Vec<String> {
    match check("changedesk.toml", text) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

fn secret_of(t: &TenantConfig) -> &str {
    match &t.credential {
        Credential::Secret(s) => s.expose_secret(),
        other => panic!("expected a secret, got {other:?}"),
    }
}

fn tenant(name: &str, extra: &str) -> String {
    let domain = name.replace('_', "-");
    format!(
        "[[tenants]]\nname = \"{name}\"\ntenant_id = \"{domain}.onmicrosoft.com\"\nclient_id = \"{GUID_A}\"\n{extra}"
    )
}

// ---------------------------------------------------------------- example

#[test]
fn example_checks_and_shows_one_tenant() {
    let config = match check("changedesk.example.toml", EXAMPLE) {
        Ok(c) => c,
        Err(e) => panic!("EXAMPLE does not check:\n{e}"),
    };
    assert_eq!(config.database, DatabaseUrl::sqlite("./changedesk.db"));
    assert_eq!(config.log_format, LogFormat::Text);
    let names: Vec<&str> = config.tenants.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["contoso"]);
    let contoso = config.tenant("contoso").expect("contoso");
    assert_eq!(contoso.tenant_id, "contoso.onmicrosoft.com");
    assert_eq!(contoso.cloud, Cloud::Global);
    assert!(matches!(contoso.credential, CredentialSpec::Secret(_)));
    assert!(config.app.is_none());
}

#[test]
fn example_loads_without_environment() {
    let loaded = load_ok(EXAMPLE, &[]);
    assert!(loaded.warnings.is_empty());
    assert_eq!(loaded.config.tenants.len(), 1);
    assert_eq!(
        loaded.config.tenants[0].graph_scope(),
        "https://graph.microsoft.com/.default"
    );
}

#[test]
fn example_commented_keys_are_valid_when_uncommented() {
    // uncomment the second tenant, the URL overrides, the expiry and [app]:
    // still valid
    let uncommented: String = EXAMPLE
        .lines()
        .map(|l| {
            let bare = l.strip_prefix("# ").unwrap_or(l);
            if bare.starts_with("[[tenants]]")
                || bare.starts_with("name = ")
                || bare.starts_with("tenant_id = ")
                || bare.starts_with("client_id = ")
                || bare.starts_with("certificate_file = ")
                || bare.starts_with("private_key_file = ")
                || bare.starts_with("cloud = ")
                || bare.starts_with("login_url = ")
                || bare.starts_with("graph_url = ")
                || bare.starts_with("secret_expires = ")
                || bare.starts_with("[app]")
                || bare.starts_with("client_secret_file = \"/etc/changedesk/app-secret\"")
            {
                format!("{bare}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let config = match check("x.toml", &uncommented) {
        Ok(c) => c,
        Err(e) => panic!("{e}\n---\n{uncommented}"),
    };
    assert_eq!(config.tenants.len(), 2);
    let gov = &config.tenants[1];
    assert_eq!(gov.name, "fabrikam-gov");
    assert_eq!(gov.cloud, Cloud::GccHigh);
    assert!(matches!(gov.credential, CredentialSpec::Certificate { .. }));
    assert_eq!(
        config.tenants[0].graph_base().as_str(),
        "http://127.0.0.1:8080/"
    );
    let expires = crate::timestamp::Timestamp::parse("2027-06-30").ok();
    assert_eq!(config.tenants[0].secret_expires, expires);
    let app = config.app.expect("[app] uncommented");
    assert_eq!(app.client_id, "77777777-8888-9999-aaaa-bbbbbbbbbbbb");
    assert!(matches!(app.credential, CredentialSpec::SecretFile(_)));
    assert_eq!(app.secret_expires, expires);
}

// ------------------------------------------------------------- precedence

#[test]
fn database_precedence_default_file_env_cli() {
    let none = load_with(None, &[], CliOverrides::default(), &no_files).expect("defaults");
    assert_eq!(none.config.database, DatabaseUrl::default());
    assert!(none.config.tenants.is_empty());

    let file = "database = \"sqlite:///var/lib/changedesk/file.db\"\n";
    let from_file = load_ok(file, &[]);
    assert_eq!(
        from_file.config.database,
        DatabaseUrl::sqlite("/var/lib/changedesk/file.db")
    );

    let from_env = load_ok(file, &[("CHANGEDESK_DATABASE", "sqlite://env.db")]);
    assert_eq!(from_env.config.database, DatabaseUrl::sqlite("env.db"));

    let from_cli = load_with(
        Some(file),
        &[("CHANGEDESK_DATABASE", "sqlite://env.db")],
        CliOverrides {
            database: Some("sqlite://cli.db"),
            ..Default::default()
        },
        &no_files,
    )
    .expect("loads");
    assert_eq!(from_cli.config.database, DatabaseUrl::sqlite("cli.db"));
}

#[test]
fn database_from_file_secret() {
    let read = files(&[(
        "/run/secrets/db",
        "postgres://cd:hunter2@db:5432/changedesk\n",
    )]);
    let loaded = load_with(
        Some("database = \"sqlite://file.db\"\n"),
        &[("CHANGEDESK_DATABASE_FILE", "/run/secrets/db")],
        CliOverrides::default(),
        &read,
    )
    .expect("loads");
    match &loaded.config.database {
        DatabaseUrl::Postgres(url) => {
            assert_eq!(url.expose_url(), "postgres://cd:hunter2@db:5432/changedesk");
        }
        other => panic!("{other:?}"),
    }
    let shown = format!("{:?} {}", loaded.config, loaded.config.database);
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn database_file_problems() {
    let errors = load_err_with(
        "",
        &[("CHANGEDESK_DATABASE_FILE", "/run/secrets/missing")],
        &files(&[]),
    );
    assert_eq!(
        errors,
        [
            "CHANGEDESK_DATABASE_FILE: cannot read secret file /run/secrets/missing: No such file or directory (os error 2)"
        ]
    );

    let errors = load_err(
        "",
        &[
            ("CHANGEDESK_DATABASE", "sqlite://a.db"),
            ("CHANGEDESK_DATABASE_FILE", "/run/secrets/db"),
        ],
    );
    assert_eq!(
        errors,
        [
            "CHANGEDESK_DATABASE_FILE: set either CHANGEDESK_DATABASE or CHANGEDESK_DATABASE_FILE, not both"
        ]
    );

    let read = files(&[("/run/secrets/db", "mysql://u:hunter2@h/db\n")]);
    let errors = load_err_with(
        "",
        &[("CHANGEDESK_DATABASE_FILE", "/run/secrets/db")],
        &read,
    );
    assert_eq!(
        errors,
        [
            "CHANGEDESK_DATABASE_FILE: unsupported database URL scheme `mysql`: expected sqlite://PATH or postgres://…"
        ]
    );
}

#[test]
fn tenant_secret_precedence_file_env() {
    let file = tenant("contoso", "client_secret = \"from-file\"\n");
    let loaded = load_ok(&file, &[]);
    assert_eq!(secret_of(&loaded.config.tenants[0]), "from-file");

    let loaded = load_ok(
        &file,
        &[("CHANGEDESK_TENANTS__CONTOSO__CLIENT_SECRET", "from-env")],
    );
    assert_eq!(loaded.config.tenants.len(), 1);
    assert_eq!(secret_of(&loaded.config.tenants[0]), "from-env");
}

#[test]
fn env_secret_file_replaces_file_secret() {
    let file = tenant("contoso", "client_secret = \"from-file\"\n");
    let read = files(&[("/run/secrets/x", "from-secret-file\n")]);
    let loaded = load_with(
        Some(&file),
        &[(
            "CHANGEDESK_TENANTS__CONTOSO__CLIENT_SECRET_FILE",
            "/run/secrets/x",
        )],
        CliOverrides::default(),
        &read,
    )
    .expect("loads");
    assert_eq!(secret_of(&loaded.config.tenants[0]), "from-secret-file");
}

#[test]
fn env_secret_replaces_file_secret_file_and_certificate() {
    for credential in [
        "client_secret_file = \"/run/secrets/never-read\"\n",
        "certificate_file = \"c.pem\"\nprivate_key_file = \"k.pem\"\n",
    ] {
        let file = tenant("contoso", credential);
        let loaded = load_ok(
            &file,
            &[("CHANGEDESK_TENANTS__CONTOSO__CLIENT_SECRET", "from-env")],
        );
        assert_eq!(secret_of(&loaded.config.tenants[0]), "from-env");
    }
}

#[test]
fn env_certificate_key_merges_with_file_certificate() {
    let file = tenant(
        "contoso",
        "certificate_file = \"old.crt.pem\"\nprivate_key_file = \"key.pem\"\n",
    );
    let loaded = load_ok(
        &file,
        &[(
            "CHANGEDESK_TENANTS__CONTOSO__CERTIFICATE_FILE",
            "new.crt.pem",
        )],
    );
    match &loaded.config.tenants[0].credential {
        Credential::Certificate {
            certificate_file,
            private_key_file,
        } => {
            assert_eq!(certificate_file, Path::new("new.crt.pem"));
            assert_eq!(private_key_file, Path::new("key.pem"));
        }
        other => panic!("{other:?}"),
    }

    // a certificate from the environment replaces a client secret in the file
    let file = tenant("contoso", "client_secret = \"from-file\"\n");
    let errors = load_err(
        &file,
        &[("CHANGEDESK_TENANTS__CONTOSO__CERTIFICATE_FILE", "c.pem")],
    );
    assert_eq!(
        errors,
        [
            "CHANGEDESK_TENANTS__CONTOSO__CERTIFICATE_FILE: certificate_file needs private_key_file too (both PEM files)"
        ]
    );
}

#[test]
fn env_overrides_other_tenant_fields() {
    let file = tenant("fab-rikam", "client_secret = \"s\"\ncloud = \"global\"\n");
    let loaded = load_ok(
        &file,
        &[
            ("CHANGEDESK_TENANTS__FAB_RIKAM__CLOUD", "GCCHigh"),
            (
                "CHANGEDESK_TENANTS__FAB_RIKAM__GRAPH_URL",
                "http://127.0.0.1:9000",
            ),
            ("CHANGEDESK_TENANTS__FAB_RIKAM__CLIENT_ID", GUID_B),
        ],
    );
    let t = &loaded.config.tenants[0];
    assert_eq!(t.name, "fab-rikam");
    assert_eq!(t.env_name(), "FAB_RIKAM");
    assert_eq!(t.cloud, Cloud::GccHigh);
    assert_eq!(t.client_id, GUID_B);
    assert_eq!(t.graph_scope(), "http://127.0.0.1:9000/.default");
    assert_eq!(t.login_base().as_str(), "https://login.microsoftonline.us/");
}

#[test]
fn log_format_precedence() {
    let file = "log_format = \"json\"\n";
    assert_eq!(load_ok("", &[]).config.log_format, LogFormat::Text);
    assert_eq!(load_ok(file, &[]).config.log_format, LogFormat::Json);
    assert_eq!(
        load_ok(file, &[("CHANGEDESK_LOG_FORMAT", "text")])
            .config
            .log_format,
        LogFormat::Text
    );
    let cli = load_with(
        Some(file),
        &[("CHANGEDESK_LOG_FORMAT", "text")],
        CliOverrides {
            log_format: Some("JSON"),
            ..Default::default()
        },
        &no_files,
    )
    .expect("loads");
    assert_eq!(cli.config.log_format, LogFormat::Json);
    assert_eq!(
        load_err("log_format = \"xml\"\n", &[]),
        ["changedesk.toml:1:14: log_format: unknown log format \"xml\" (expected text or json)"]
    );
}

// ------------------------------------------------------- env-only tenants

#[test]
fn env_defines_a_new_tenant() {
    let loaded = load_with(
        None,
        &[
            ("CHANGEDESK_TENANTS__NEW_ONE__TENANT_ID", GUID_A),
            ("CHANGEDESK_TENANTS__NEW_ONE__CLIENT_ID", GUID_B),
            (
                "CHANGEDESK_TENANTS__NEW_ONE__CLIENT_SECRET_FILE",
                "/run/secrets/new",
            ),
        ],
        CliOverrides::default(),
        &files(&[("/run/secrets/new", "abc\r\n")]),
    )
    .expect("loads");
    let t = loaded.config.tenant("new_one").expect("defined");
    assert_eq!(t.tenant_id, GUID_A);
    assert_eq!(secret_of(t), "abc");
    assert_eq!(t.cloud, Cloud::Global);
}

#[test]
fn env_only_tenant_must_be_complete() {
    let file = tenant("contoso", "client_secret = \"s\"\n");
    let errors = load_err(
        &file,
        &[("CHANGEDESK_TENANTS__FABRIKAM__CLIENT_SECRET", SECRET)],
    );
    assert_eq!(
        errors,
        [
            "CHANGEDESK_TENANTS__FABRIKAM__*: tenant `fabrikam` is defined by environment variables but has no tenant_id (set CHANGEDESK_TENANTS__FABRIKAM__TENANT_ID)",
            "CHANGEDESK_TENANTS__FABRIKAM__*: tenant `fabrikam` is defined by environment variables but has no client_id (set CHANGEDESK_TENANTS__FABRIKAM__CLIENT_ID)",
        ]
    );
    assert!(errors.iter().all(|e| !e.contains(SECRET)));
}

#[test]
fn env_names_mapping_to_two_tenants_are_ambiguous() {
    let file = format!(
        "{}{}",
        tenant("a-b", "client_secret = \"s\"\n"),
        tenant("a_b", "client_secret = \"s\"\n")
    );
    let errors = load_err(&file, &[("CHANGEDESK_TENANTS__A_B__CLOUD", "gcc")]);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("CHANGEDESK_TENANTS__A_B__*: ambiguous: tenants `a-b` and `a_b`"),
        "{errors:?}"
    );
    // without environment overrides the two names are fine
    assert_eq!(load_ok(&file, &[]).config.tenants.len(), 2);
}

// --------------------------------------------------------------- warnings

#[test]
fn unknown_env_vars_are_warnings_and_binary_vars_are_not() {
    let loaded = load_ok(
        "",
        &[
            ("CHANGEDESK_CONFIG", "/etc/changedesk.toml"),
            ("CHANGEDESK_LOG", "debug"),
            ("CHANGEDESK_LOG_FORMAT", "json"),
            ("CHANGEDESK_NOW", "2025-01-01T00:00:00Z"),
            ("CHANGEDESK_FAILPOINT", "x"),
            ("CHANGEDESK_TEST_PG_URL", "postgres://x"),
            ("CHANGEDESK_TEST_WHATEVER", "1"),
            ("CHANGEDESK_DATABSE", "postgres://u:hunter2@h/db"),
            ("CHANGEDESK_TENANTS__CONTOSO__SECRET", "hunter2"),
            ("OTHER_VAR", "x"),
        ],
    );
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].starts_with("CHANGEDESK_DATABSE is not a changedesk setting"));
    assert!(loaded.warnings[1].starts_with("CHANGEDESK_TENANTS__CONTOSO__SECRET is not"));
    assert!(loaded.warnings.iter().all(|w| !w.contains("hunter2")));
    assert!(loaded.config.tenants.is_empty());
}

// ------------------------------------------------------- file errors

#[test]
fn unknown_key_reports_its_line() {
    let text = format!(
        "database = \"sqlite://x.db\"\n{}client_secret = \"s\"\nclod = \"global\"\n",
        tenant("contoso", "")
    );
    assert_eq!(
        check_err(&text),
        [
            "changedesk.toml:7:1: tenants[0].clod: unknown key `clod`, expected one of `name`, `tenant_id`, `client_id`, `client_secret`, `client_secret_file`, `certificate_file`, `private_key_file`, `cloud`, `login_url`, `graph_url`, `secret_expires`"
        ]
    );
}

#[test]
fn duplicate_tenant_names_name_the_second() {
    let text = format!(
        "{}\n{}",
        tenant("contoso", "client_secret = \"s\"\n"),
        tenant("contoso", "client_secret = \"s\"\n")
    );
    assert_eq!(
        check_err(&text),
        [
            "changedesk.toml:8:8: tenants[1].name: duplicate tenant name `contoso` (first defined on line 2)"
        ]
    );
}

#[test]
fn bad_cloud_names_key_line_and_column() {
    let text = format!(
        "# comment\ndatabase = \"sqlite://x.db\"\n\n{}client_secret = \"s\"\ncloud = \"gcc\"\n\n{}client_secret = \"s\"\n\ncloud = \"azure\"\n",
        tenant("contoso", ""),
        tenant("fabrikam", "")
    );
    let errors = check_err(&text);
    assert_eq!(
        errors,
        [
            "changedesk.toml:17:9: tenants[1].cloud: unknown cloud \"azure\" (expected global, gcc, gcchigh, dod or china)"
        ]
    );
}

#[test]
fn clouds_are_case_insensitive() {
    let text = tenant("contoso", "client_secret = \"s\"\ncloud = \"DoD\"\n");
    let c = check("x.toml", &text).expect("valid");
    assert_eq!(c.tenants[0].cloud, Cloud::Dod);
    assert_eq!(
        c.tenants[0].graph_scope(),
        "https://dod-graph.microsoft.us/.default"
    );
}

#[test]
fn two_credentials_are_an_error() {
    let text = tenant(
        "contoso",
        &format!(
            "client_secret = \"{SECRET}\"\ncertificate_file = \"c.pem\"\nprivate_key_file = \"k.pem\"\n"
        ),
    );
    let errors = check_err(&text);
    assert_eq!(
        errors,
        [
            "changedesk.toml:7:20: tenants[0].private_key_file: more than one credential (client_secret, certificate_file, private_key_file): give exactly one of client_secret, client_secret_file, or certificate_file with private_key_file"
        ]
    );

    let text = tenant(
        "contoso",
        &format!("client_secret_file = \"/run/x\"\nclient_secret = \"{SECRET}\"\n"),
    );
    let errors = check_err(&text);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("changedesk.toml:6:17: tenants[0].client_secret: more than one credential (client_secret, client_secret_file)"),
        "{errors:?}"
    );
    assert!(!errors[0].contains(SECRET));
}

#[test]
fn env_credential_next_to_file_secret_of_same_form_replaces_it() {
    // env CLIENT_SECRET and env CERTIFICATE_FILE together: two credentials,
    // reported at a variable
    let text = tenant("contoso", "client_secret = \"s\"\n");
    let errors = load_err(
        &text,
        &[
            ("CHANGEDESK_TENANTS__CONTOSO__CLIENT_SECRET", SECRET),
            ("CHANGEDESK_TENANTS__CONTOSO__CERTIFICATE_FILE", "c.pem"),
        ],
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("CHANGEDESK_TENANTS__CONTOSO__"),
        "{errors:?}"
    );
    assert!(errors[0].contains("more than one credential"), "{errors:?}");
    assert!(!errors[0].contains(SECRET));
}

#[test]
fn no_credential_is_an_error_at_the_tenant_header() {
    let text = format!("database = \"sqlite://x.db\"\n\n{}", tenant("contoso", ""));
    assert_eq!(
        check_err(&text),
        [
            "changedesk.toml:3:1: tenants[0]: no credential: give exactly one of client_secret, client_secret_file, or certificate_file with private_key_file"
        ]
    );
}

#[test]
fn certificate_needs_both_files() {
    let text = tenant("contoso", "private_key_file = \"k.pem\"\n");
    assert_eq!(
        check_err(&text),
        [
            "changedesk.toml:5:20: tenants[0].private_key_file: private_key_file needs certificate_file too (both PEM files)"
        ]
    );
}

#[test]
fn missing_and_invalid_tenant_fields_are_all_reported() {
    let text = "[[tenants]]\nname = \"Contoso\"\nclient_id = \"not-a-guid\"\nclient_secret = \"s\"\nlogin_url = \"ftp://x\"\n";
    assert_eq!(
        check_err(text),
        [
            "changedesk.toml:2:8: tenants[0].name: invalid tenant name \"Contoso\": use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit",
            "changedesk.toml:1:1: tenants[0]: missing `tenant_id`",
            "changedesk.toml:3:13: tenants[0].client_id: not a GUID: expected the application (client) ID, like 00000000-0000-0000-0000-000000000000",
            "changedesk.toml:5:13: tenants[0].login_url: unsupported URL scheme `ftp`: expected http:// or https://",
        ]
    );
}

#[test]
fn syntax_error_reports_line_and_column() {
    let text = "database = \"sqlite://x.db\"\n[[tenants]\nname = \"a\"\n";
    let errors = check_err(text);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("changedesk.toml:2:"), "{errors:?}");
    assert!(errors[0].contains("TOML syntax error"), "{errors:?}");
}

#[test]
fn unknown_scheme_and_bare_path_in_file_env_and_cli() {
    assert_eq!(
        check_err("database = \"mysql://u@h/db\"\n"),
        [
            "changedesk.toml:1:12: database: unsupported database URL scheme `mysql`: expected sqlite://PATH or postgres://…"
        ]
    );
    assert_eq!(
        check_err("database = \"./changedesk.db\"\n"),
        [
            "changedesk.toml:1:12: database: the database URL has no scheme: expected sqlite://PATH or postgres://… (write a file path as sqlite://PATH)"
        ]
    );
    assert_eq!(
        load_err("", &[("CHANGEDESK_DATABASE", "/var/lib/x.db")]),
        [
            "CHANGEDESK_DATABASE: the database URL has no scheme: expected sqlite://PATH or postgres://… (write a file path as sqlite://PATH)"
        ]
    );
    let cli = load_with(
        None,
        &[],
        CliOverrides {
            database: Some("mysql://x"),
            ..Default::default()
        },
        &no_files,
    )
    .expect_err("invalid");
    assert_eq!(
        cli.to_string(),
        "--database: unsupported database URL scheme `mysql`: expected sqlite://PATH or postgres://…"
    );
}

// ---------------------------------------------------------- secret files

#[test]
fn client_secret_file_is_read_and_trimmed_once() {
    let text = tenant("contoso", "client_secret_file = \"/run/secrets/contoso\"\n");
    let reads = RefCell::new(Vec::new());
    let read = |p: &Path| {
        reads.borrow_mut().push(p.to_path_buf());
        Ok::<_, String>("line1\n\n".to_owned())
    };
    let loaded = load_with(Some(&text), &[], CliOverrides::default(), &read).expect("loads");
    assert_eq!(secret_of(&loaded.config.tenants[0]), "line1\n");
    assert_eq!(*reads.borrow(), [PathBuf::from("/run/secrets/contoso")]);

    // check reads nothing and keeps the path
    let checked = check("x.toml", &text).expect("valid");
    match &checked.tenants[0].credential {
        CredentialSpec::SecretFile(p) => assert_eq!(p, Path::new("/run/secrets/contoso")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unreadable_or_empty_secret_file_names_the_path() {
    let text = tenant("contoso", "client_secret_file = \"/run/secrets/missing\"\n");
    assert_eq!(
        load_err_with(&text, &[], &files(&[])),
        [
            "changedesk.toml:5:22: tenants[0].client_secret_file: cannot read secret file /run/secrets/missing: No such file or directory (os error 2)"
        ]
    );
    let text = tenant("contoso", "client_secret_file = \"/run/secrets/empty\"\n");
    assert_eq!(
        load_err_with(&text, &[], &files(&[("/run/secrets/empty", "\n")])),
        [
            "changedesk.toml:5:22: tenants[0].client_secret_file: secret file /run/secrets/empty is empty"
        ]
    );
    assert_eq!(
        load_err_with(
            "",
            &[
                ("CHANGEDESK_TENANTS__X__TENANT_ID", GUID_A),
                ("CHANGEDESK_TENANTS__X__CLIENT_ID", GUID_A),
                ("CHANGEDESK_TENANTS__X__CLIENT_SECRET_FILE", "/nope"),
            ],
            &files(&[])
        ),
        [
            "CHANGEDESK_TENANTS__X__CLIENT_SECRET_FILE: cannot read secret file /nope: No such file or directory (os error 2)"
        ]
    );
}

#[test]
fn secret_file_path_is_checked_for_form_only() {
    let text = tenant("contoso", "client_secret_file = \"\"\n");
    assert_eq!(
        check_err(&text),
        ["changedesk.toml:5:22: tenants[0].client_secret_file: the path is empty"]
    );
}

// --------------------------------------------------------- no secret leaks

#[test]
fn debug_output_contains_no_secret() {
    let text = format!(
        "database = \"postgres://cd:{SECRET}@db:5432/changedesk\"\n{}",
        tenant("contoso", &format!("client_secret = \"{SECRET}\"\n"))
    );
    let loaded = load_ok(&text, &[]);
    assert_eq!(secret_of(&loaded.config.tenants[0]), SECRET);
    for shown in [
        format!("{loaded:?}"),
        format!("{:?}", loaded.config),
        format!("{:#?}", loaded.config),
        format!("{:?}", loaded.config.tenants[0]),
        format!("{:?}", loaded.config.tenants[0].credential),
        format!("{:?}", loaded.config.database),
        loaded.config.database.to_string(),
        format!("{:?}", check("x.toml", &text).expect("valid")),
    ] {
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("Sup3r"), "{shown}");
    }
}

#[test]
fn errors_near_a_secret_do_not_contain_it() {
    let cases = [
        // empty secret
        tenant("contoso", "client_secret = \"\"\n"),
        // wrong type on the secret line
        tenant("contoso", "client_secret = 123456789\n").replace("123456789", "31337133"),
        // two credentials reported on the client_secret line
        tenant(
            "contoso",
            &format!("certificate_file = \"c.pem\"\nclient_secret = \"{SECRET}\"\n"),
        ),
        // syntax errors on the secret line
        tenant("contoso", &format!("client_secret = \"{SECRET}\\q\"\n")),
        tenant("contoso", &format!("client_secret = {SECRET}\n")),
        tenant("contoso", &format!("client_secret = \"{SECRET}\n")),
        tenant("contoso", &format!("client_secret = \"{SECRET}\" junk\n")),
        tenant("contoso", &format!("client_secret = [\"{SECRET}\"]\n")),
        tenant(
            "contoso",
            &format!("client_secret = {{ value = \"{SECRET}\" }}\n"),
        ),
        // unknown key holding a secret
        tenant("contoso", &format!("client_secrt = \"{SECRET}\"\n")),
        format!("database = \"postgres://cd:{SECRET}@db:99999999/x\"\n"),
        format!("database = \"mysql://cd:{SECRET}@db/x\"\n"),
        format!("database = \"cd:{SECRET}@db/x\"\n"),
        format!("database = 1\ndatabase = \"{SECRET}\"\n"),
        tenant(
            "contoso",
            &format!("client_secret = \"a\"\nlogin_url = \"https://u:{SECRET}@x/\"\n"),
        ),
    ];
    for text in &cases {
        let errors = match check("changedesk.toml", text) {
            Ok(_) => panic!("expected an error for {text}"),
            Err(e) => e.to_string(),
        };
        assert!(!errors.contains(SECRET), "{text}\n=> {errors}");
        assert!(!errors.contains("31337133"), "{text}\n=> {errors}");
        assert!(errors.starts_with("changedesk.toml:"), "{errors}");
    }

    // an empty secret from the file is reported at the secret's line
    assert_eq!(
        check_err(&cases[0]),
        ["changedesk.toml:5:17: tenants[0].client_secret: client_secret is empty"]
    );
}

#[test]
fn env_secret_errors_do_not_contain_it() {
    let errors = load_err(
        "",
        &[
            ("CHANGEDESK_TENANTS__X__CLIENT_SECRET", SECRET),
            // a secret pasted into the wrong variable is not echoed either
            ("CHANGEDESK_TENANTS__X__TENANT_ID", SECRET),
            ("CHANGEDESK_DATABASE", &format!("mysql://u:{SECRET}@h/db")),
        ],
    );
    assert_eq!(errors.len(), 3, "{errors:?}");
    for e in &errors {
        assert!(e.starts_with("CHANGEDESK_"), "{e}");
        assert!(!e.contains(SECRET), "{e}");
    }
}

#[test]
fn multiple_problems_are_all_reported() {
    let text = format!(
        "database = \"mysql://x\"\nlog_format = \"xml\"\n{}{}",
        tenant("a", "cloud = \"azure\"\nclient_secret = \"s\"\n"),
        tenant("b", "")
    );
    let errors = check_err(&text);
    assert_eq!(errors.len(), 4, "{errors:?}");
}

#[test]
fn warnings_come_with_errors() {
    let text = tenant("contoso", "");
    let errors = load_with(
        Some(&text),
        &[("CHANGEDESK_TENANTS__CONTOSO__CLIENT_SECRT", SECRET)],
        CliOverrides::default(),
        &no_files,
    )
    .expect_err("no credential");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors.warnings.len(), 1);
    let shown = errors.to_string();
    assert!(
        shown.contains(
            "\nwarning: CHANGEDESK_TENANTS__CONTOSO__CLIENT_SECRT is not a changedesk setting"
        ),
        "{shown}"
    );
    assert!(!shown.contains(SECRET));

    // a syntax error keeps the warnings too
    let errors = load_with(
        Some("database = \n"),
        &[("CHANGEDESK_DATABSE", "x")],
        CliOverrides::default(),
        &no_files,
    )
    .expect_err("syntax");
    assert_eq!(errors.warnings.len(), 1);
}

#[test]
fn sources_debug_contains_no_secret() {
    let text = tenant("contoso", &format!("client_secret = \"{SECRET}\"\n"));
    let env = env(&[
        ("CHANGEDESK_TENANTS__CONTOSO__CLIENT_SECRET", SECRET),
        ("OTHER", SECRET),
    ]);
    let db = format!("postgres://cd:{SECRET}@db/changedesk");
    let sources = Sources {
        file: Some(ConfigFile {
            path: "changedesk.toml",
            text: &text,
        }),
        env: &env,
        cli: CliOverrides {
            database: Some(&db),
            log_format: None,
        },
    };
    let shown = format!("{sources:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(
        shown.contains("CHANGEDESK_TENANTS__CONTOSO__CLIENT_SECRET"),
        "{shown}"
    );
    assert!(shown.contains("postgres://cd:***@db/changedesk"), "{shown}");
}

#[test]
fn toml_examples_in_the_docs_check() {
    const DOC: &str = include_str!("../../../../docs/CONFIG.md");
    let blocks: Vec<&str> = DOC
        .split("```toml\n")
        .skip(1)
        .filter_map(|rest| rest.split_once("```").map(|(block, _)| block))
        .collect();
    assert!(blocks.len() >= 4, "found {} blocks", blocks.len());
    for block in blocks {
        if let Err(e) = check("docs/CONFIG.md", block) {
            panic!("{e}\n---\n{block}");
        }
    }
}

#[test]
fn sync_section_defaults_file_and_env() {
    assert_eq!(load_ok("", &[]).config.sync, SyncSettings::default());
    let text = "[sync]\nfull_sync_interval = \"6h\"\nconcurrency = 32\npage_size = 500\n";
    let l = load_ok(text, &[]);
    assert_eq!(
        l.config.sync.full_sync_interval,
        std::time::Duration::from_secs(6 * 3600)
    );
    assert_eq!(
        (l.config.sync.concurrency, l.config.sync.page_size),
        (32, 500)
    );
    let l = load_ok(text, &[("CHANGEDESK_SYNC__CONCURRENCY", "4")]);
    assert_eq!(
        l.config.sync.concurrency, 4,
        "the environment beats the file"
    );
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert!(l.config.sync.membership_check);
    let l = load_ok(
        "[sync]
membership_check = false
",
        &[],
    );
    assert!(!l.config.sync.membership_check);
    let l = load_ok("", &[("CHANGEDESK_SYNC__MEMBERSHIP_CHECK", "false")]);
    assert!(!l.config.sync.membership_check);
    let e = load_err("", &[("CHANGEDESK_SYNC__MEMBERSHIP_CHECK", "maybe")]);
    assert!(
        e.iter()
            .any(|e| e.contains("MEMBERSHIP_CHECK") && e.contains("true or false")),
        "{e:?}"
    );
}

#[test]
fn sync_section_errors_name_key_and_line() {
    let text =
        "[sync]\npage_size = 5000\nrequests_per_minute = 300\nfull_sync_interval = \"daily\"\n";
    let e = load_with(Some(text), &[], CliOverrides::default(), &no_files)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(":2:") && e.contains("sync.page_size") && e.contains("1000"),
        "{e}"
    );
    assert!(
        e.contains(":3:") && e.contains("sync.requests_per_minute") && e.contains("240"),
        "{e}"
    );
    assert!(
        e.contains(":4:") && e.contains("sync.full_sync_interval"),
        "{e}"
    );
    let e = check("t.toml", "[sync]\nbogus = 1\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.toml:2:1") && e.contains("bogus"), "{e}");
    let l = load_ok("", &[("CHANGEDESK_SYNC__BOGUS", "1")]);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("CHANGEDESK_SYNC__BOGUS")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn server_section_names_the_secret_key_file() {
    assert_eq!(load_ok("", &[]).config.server.secret_key_file, None);
    let l = load_ok("[server]\nsecret_key_file = \"/etc/changedesk/key\"\n", &[]);
    assert_eq!(
        l.config.server.secret_key_file.as_deref(),
        Some(std::path::Path::new("/etc/changedesk/key"))
    );
    let l = load_ok(
        "[server]\nsecret_key_file = \"/etc/changedesk/key\"\n",
        &[("CHANGEDESK_SERVER__SECRET_KEY_FILE", "/run/secrets/key")],
    );
    assert_eq!(
        l.config.server.secret_key_file.as_deref(),
        Some(std::path::Path::new("/run/secrets/key"))
    );
    // the key itself in the environment is no unknown variable
    let l = load_ok("", &[("CHANGEDESK_SECRET_KEY", "x")]);
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
}

#[test]
fn server_section_reads_trusted_proxies_from_file_and_env() {
    let l = load_ok("", &[]);
    assert_eq!(l.config.server, ServerSettings::default());
    let text = "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\nhash_concurrency = 3\n";
    let l = load_ok(text, &[]);
    assert_eq!(
        l.config
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["10.0.0.0/8", "::1/128"]
    );
    assert_eq!(l.config.server.hash_concurrency, 3);
    let l = load_ok(
        text,
        &[(
            "CHANGEDESK_SERVER__TRUSTED_PROXIES",
            "192.168.0.1, 172.16.0.0/12",
        )],
    );
    assert_eq!(
        l.config
            .server
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["192.168.0.1/32", "172.16.0.0/12"],
        "the environment beats the file"
    );
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let e = load_with(
        Some("[server]\ntrusted_proxies = [\"10.0.0.0/40\"]\nhash_concurrency = -1\n"),
        &[],
        CliOverrides::default(),
        &no_files,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains(":2:") && e.contains("server.trusted_proxies") && e.contains("prefix"),
        "{e}"
    );
    assert!(
        e.contains(":3:") && e.contains("server.hash_concurrency"),
        "{e}"
    );
    let l = load_ok("", &[("CHANGEDESK_SERVER__BOGUS", "1")]);
    assert!(
        l.warnings
            .iter()
            .any(|w| w.contains("CHANGEDESK_SERVER__BOGUS")),
        "{:?}",
        l.warnings
    );
}

#[test]
fn notify_email_transports_load_and_read_the_smtp_password() {
    let base = format!(
        "[[tenants]]\nname = \"contoso\"\ntenant_id = \"{GUID_A}\"\nclient_id = \"{GUID_B}\"\nclient_secret = \"{SECRET}\"\n"
    );
    let smtp = format!(
        "{base}[notify]\ntemplates_dir = \"/etc/cd/templates\"\n[notify.email]\nfrom = \"changedesk <cd@contoso.com>\"\ntransport = \"smtp\"\n\
         [notify.email.smtp]\nhost = \"smtp.contoso.com\"\nauth = \"login\"\nuser = \"cd@contoso.com\"\npassword_file = \"/run/smtp\"\n"
    );
    let read = files(&[("/run/smtp", "hunter2\n")]);
    let l = load_with(Some(&smtp), &[], CliOverrides::default(), &read).unwrap();
    assert_eq!(
        l.config.notify.templates_dir.as_deref(),
        Some(Path::new("/etc/cd/templates"))
    );
    let email = l.config.notify.email.unwrap();
    let EmailTransport::Smtp(s) = &email.transport else {
        panic!("{:?}", email.transport)
    };
    assert_eq!((s.port, s.security.as_str()), (587, "starttls"));
    assert_eq!(s.password.as_ref().unwrap().expose_secret(), "hunter2");
    assert!(!format!("{email:?}").contains("hunter2"));

    let graph = format!(
        "{base}[notify.email]\nfrom = \"cd@contoso.com\"\ntransport = \"graph\"\n[notify.email.graph]\ntenant = \"contoso\"\nsender = \"cd@contoso.com\"\n"
    );
    let email = load_ok(&graph, &[]).config.notify.email.unwrap();
    assert!(
        email
            .transport
            .describe()
            .contains("Graph sendMail as cd@contoso.com")
    );

    let dir = "[notify.email]\nfrom = \"cd@localhost.localdomain\"\ntransport = \"directory\"\n[notify.email.directory]\npath = \"mail\"\n";
    let email = load_ok(dir, &[]).config.notify.email.unwrap();
    assert!(matches!(email.transport, EmailTransport::Directory(_)));
    assert!(load_ok("", &[]).config.notify.email.is_none());
}

#[test]
fn notify_mistakes_are_reported_with_their_key() {
    for (text, expect) in [
        (
            "[notify.email]\ntransport = \"smtp\"\n[notify.email.smtp]\nhost = \"h\"\n",
            "notify.email.from",
        ),
        (
            "[notify.email]\nfrom = \"a@b.c\"\ntransport = \"pigeon\"\n",
            "smtp, graph or directory",
        ),
        (
            "[notify.email]\nfrom = \"a@b.c\"\ntransport = \"smtp\"\n",
            "notify.email.smtp",
        ),
        (
            "[notify.email]\nfrom = \"a@b.c\"\ntransport = \"graph\"\n[notify.email.graph]\ntenant = \"nope\"\nsender = \"a@b.c\"\n",
            "names no configured tenant",
        ),
        (
            "[notify.email]\nfrom = \"a@b.c\"\ntransport = \"smtp\"\n[notify.email.smtp]\nhost = \"h\"\nauth = \"plain\"\n",
            "needs `user` and `password_file`",
        ),
        (
            "[notify.email]\nfrom = \"a@b.c\"\ntransport = \"smtp\"\n[notify.email.smtp]\nhost = \"h\"\nsecurity = \"none\"\nauth = \"login\"\nuser = \"u\"\npassword_file = \"/p\"\n",
            "needs security",
        ),
        (
            "[notify.email]\nfrom = \"a@b.c\"\ntransport = \"smtp\"\n[notify.email.smtp]\nhost = \"h\"\nport = 70000\n",
            "port number",
        ),
        (
            "[notify.email]\nfrom = \"a@b.c\\r\\nBcc: x@y.z\"\ntransport = \"directory\"\n[notify.email.directory]\npath = \"m\"\n",
            "is not a mailbox",
        ),
        ("[notify]\ntemplates = \"x\"\n", "unknown key"),
    ] {
        let e = match load_with(Some(text), &[], CliOverrides::default(), &no_files) {
            Ok(_) => panic!("expected an error for {text}"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains(expect), "{text}: {e}");
    }
}

// ---------------------------------------------------------------- declared channels

const CHANNELS: &str = r#"[notify]
late_after_days = 2
act_by_soon_days = 14
sync_failing_after = 5

[[notify.channel]]
name = "ServiceDesk"
url_file = "/run/secrets/desk_url"
secret_env = "DESK_SECRET"
events = ["post.routed", "post.changed"]
services = ["Exchange Online"]
allow_private = true

[[notify.channel]]
name = "exo-teams"
kind = "teams"
url = "https://prod-1.westeurope.logic.azure.com/workflows/x?sig=TEAMSSIG"
severities = ["high"]
tenants = ["contoso"]
batch_minutes = 10

[[notify.channel]]
name = "cab"
kind = "email"
recipients = ["cab@contoso.com"]
owner = "collab"
major = true
quiet = { from = "22:00", to = "07:00", time_zone = "Europe/Paris", urgent_severities = ["critical"] }
digest = { weekday = "monday", at = "08:00" }
review = { at = "09:30", time_zone = "UTC" }
report = { every = "monthly", at = "08:00", time_zone = "Europe/Paris" }
"#;

#[test]
fn declared_channels_and_thresholds_load_with_their_secrets() {
    let read = files(&[(
        "/run/secrets/desk_url",
        "  https://hooks.example/DESKURL \n",
    )]);
    let l = load_with(
        Some(CHANNELS),
        &[("DESK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")],
        CliOverrides::default(),
        &read,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let n = &l.config.notify;
    assert_eq!(
        n.thresholds,
        crate::notify::Thresholds {
            late_after_days: 2,
            act_by_soon_days: 14,
            sync_failing_after: 5
        }
    );
    let names: Vec<&str> = n.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["ServiceDesk", "exo-teams", "cab"]);
    let [desk, teams, cab] = &n.channels[..] else {
        panic!("{:?}", n.channels)
    };
    let url = desk.url.as_ref().unwrap();
    assert_eq!(
        url.from,
        SecretFrom::File(PathBuf::from("/run/secrets/desk_url"))
    );
    assert_eq!(
        url.value.as_ref().unwrap().expose_secret(),
        "https://hooks.example/DESKURL",
        "trimmed"
    );
    let secret = desk.secret.as_ref().unwrap();
    assert_eq!(secret.from, SecretFrom::Env("DESK_SECRET".into()));
    assert_eq!(
        secret.value.as_ref().unwrap().expose_secret(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    );
    assert!(desk.kind.is_none() && desk.allow_private && !desk.major);
    assert_eq!(desk.events, ["post.routed", "post.changed"]);
    assert_eq!(desk.services, ["Exchange Online"]);
    assert_eq!(teams.kind.as_deref(), Some("teams"));
    assert_eq!(teams.url.as_ref().unwrap().from, SecretFrom::Inline);
    assert!(teams.secret.is_none());
    assert_eq!(
        (
            teams.severities.clone(),
            teams.tenants.clone(),
            teams.batch_minutes
        ),
        (
            vec!["high".to_string()],
            vec!["contoso".to_string()],
            Some(10)
        )
    );
    assert_eq!(cab.recipients, ["cab@contoso.com"]);
    assert_eq!(cab.owner.as_deref(), Some("collab"));
    assert!(cab.major);
    let q = cab.quiet.as_ref().unwrap();
    assert_eq!(
        (q.from.as_str(), q.to.as_str(), q.time_zone.as_deref()),
        ("22:00", "07:00", Some("Europe/Paris"))
    );
    assert_eq!(q.urgent_severities, ["critical"]);
    assert_eq!(
        cab.digest.as_ref().unwrap().weekday.as_deref(),
        Some("monday")
    );
    assert_eq!(cab.review.as_ref().unwrap().at, "09:30");
    let report = cab.report.as_ref().unwrap();
    assert_eq!(
        (
            report.every.as_str(),
            report.at.as_str(),
            report.time_zone.as_deref()
        ),
        ("monthly", "08:00", Some("Europe/Paris"))
    );
    assert_eq!(
        cab.error("report", "x").to_string(),
        "changedesk.toml:31:10: notify.channel[2].report: x"
    );
    // no secret in Debug
    let shown = format!("{:?}", l.config);
    for secret in ["DESKURL", "TEAMSSIG", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    // later checks are reported where the key is written, else at the header
    assert_eq!(
        cab.error("owner", "no owner is named `collab`").to_string(),
        "changedesk.toml:26:9: notify.channel[2].owner: no owner is named `collab`"
    );
    assert_eq!(
        desk.error("url", "the webhook URL must be https")
            .to_string(),
        "changedesk.toml:8:12: notify.channel[0].url_file: the webhook URL must be https"
    );
    assert_eq!(
        teams.error("recipients", "x").to_string(),
        "changedesk.toml:14:1: notify.channel[1]: x"
    );
    // without [notify]: the defaults, no channel
    let l = load_ok("", &[]);
    assert_eq!(
        l.config.notify.thresholds,
        crate::notify::Thresholds::default()
    );
    assert!(l.config.notify.channels.is_empty());
}

#[test]
fn check_reads_no_channel_secret() {
    let c = check("changedesk.toml", CHANNELS).unwrap_or_else(|e| panic!("{e}"));
    let desk = &c.notify.channels[0];
    assert!(desk.url.as_ref().unwrap().value.is_none());
    assert!(desk.secret.as_ref().unwrap().value.is_none());
    assert!(c.notify.channels[1].url.as_ref().unwrap().value.is_some());
}

#[test]
fn a_variable_a_channel_reads_is_no_misspelt_setting() {
    let text =
        "[[notify.channel]]\nname = \"a\"\nkind = \"slack\"\nurl_env = \"CHANGEDESK_SLACK_URL\"\n";
    let l = load_ok(
        text,
        &[
            (
                "CHANGEDESK_SLACK_URL",
                "https://hooks.slack.com/services/T/B/X",
            ),
            ("CHANGEDESK_SLAKC", "x"),
        ],
    );
    assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
    assert!(
        l.warnings[0].starts_with("CHANGEDESK_SLAKC"),
        "{:?}",
        l.warnings
    );
    assert_eq!(
        l.config.notify.channels[0]
            .url
            .as_ref()
            .unwrap()
            .value
            .as_ref()
            .unwrap()
            .expose_secret(),
        "https://hooks.slack.com/services/T/B/X"
    );
}

#[test]
fn declared_channel_mistakes_name_file_line_column_and_key() {
    let hook = "kind = \"teams\"\nurl = \"https://x.example/\"\n";
    for (text, vars, expect) in [
        (
            format!("[[notify.channel]]\n{hook}"),
            &[][..],
            "changedesk.toml:1:1: notify.channel[0]: missing `name`".to_string(),
        ),
        (
            format!("[[notify.channel]]\nname = \"a\"\n{hook}\n[[notify.channel]]\nname = \"A\"\n{hook}"),
            &[],
            "changedesk.toml:7:8: notify.channel[1].name: channel `A` is declared twice (first on line 1)".into(),
        ),
        (
            format!("[[notify.channel]]\nname = \"person-12\"\n{hook}"),
            &[],
            "changedesk.toml:1:1: notify.channel[0].name: `person-…` names are people's own subscriptions".into(),
        ),
        (
            "[[notify.channel]]\nname = \"a\"\nkind = \"teams\"\nurl = \"https://x.example/\"\nurl_env = \"X\"\n".into(),
            &[],
            "changedesk.toml:5:11: notify.channel[0].url_env: give one of url, url_file or url_env (found url, url_env)".into(),
        ),
        (
            "[[notify.channel]]\nname = \"a\"\nkind = \"teams\"\nurl = \"  \"\n".into(),
            &[],
            "changedesk.toml:4:7: notify.channel[0].url: is empty".into(),
        ),
        (
            "[[notify.channel]]\nname = \"a\"\nkind = \"teams\"\nurl_env = \"TEAMS_URL\"\n".into(),
            &[],
            "changedesk.toml:4:11: notify.channel[0].url_env: the environment variable TEAMS_URL is not set".into(),
        ),
        (
            "[[notify.channel]]\nname = \"a\"\nkind = \"teams\"\nurl_env = \"TEAMS_URL\"\n".into(),
            &[("TEAMS_URL", " \n")],
            "changedesk.toml:4:11: notify.channel[0].url_env: the environment variable TEAMS_URL is empty".into(),
        ),
        (
            "[[notify.channel]]\nname = \"a\"\nkind = \"teams\"\nurl_file = \"/nowhere\"\n".into(),
            &[],
            "changedesk.toml:4:12: notify.channel[0].url_file: cannot read the file /nowhere: No such file".into(),
        ),
        (
            "[[notify.channel]]\nname = \"a\"\nkind = \"teams\"\nurl_env = \"A B\"\n".into(),
            &[],
            "changedesk.toml:4:11: notify.channel[0].url_env: is not the name of an environment variable".into(),
        ),
        (
            "[[notify.channel]]\nname = \"a\"\nurl = \"https://x.example/\"\n".into(),
            &[],
            "changedesk.toml:1:1: notify.channel[0]: a webhook declared in the file needs its signing secret".into(),
        ),
        (
            format!("[[notify.channel]]\nname = \"a\"\n{hook}batch_minutes = -5\n"),
            &[],
            "changedesk.toml:5:17: notify.channel[0].batch_minutes: is a number of minutes, 0 or more".into(),
        ),
        (
            format!("[[notify.channel]]\nname = \"a\"\n{hook}urll = \"x\"\n"),
            &[],
            "changedesk.toml:5:1: notify.channel[0].urll: unknown key `urll`".into(),
        ),
        (
            format!("[[notify.channel]]\nname = \"a\"\n{hook}quiet = {{ from = \"22:00\", until = \"07:00\" }}\n"),
            &[],
            "notify.channel[0].quiet.until: unknown key `until`".into(),
        ),
        (
            format!("[[notify.channel]]\nname = \"a\"\n{hook}tenants = \"contoso\"\n"),
            &[],
            "changedesk.toml:5:11: notify.channel[0].tenants: expected an array, found a string".into(),
        ),
    ] {
        let e = load_err_with(&text, vars, &files(&[])).join("\n");
        assert!(e.starts_with(&expect) || e.contains(&expect), "{text}\nexpected: {expect}\ngot: {e}");
        assert!(!e.contains("https://x.example"), "a URL in {e}");
    }
}

#[test]
fn thresholds_out_of_range_are_errors_at_their_key() {
    for (text, expect) in [
        (
            "[notify]\nlate_after_days = 0\n",
            "changedesk.toml:2:19: notify.late_after_days: must be from 1 to 365 (days); found 0",
        ),
        (
            "[notify]\nact_by_soon_days = 366\n",
            "changedesk.toml:2:20: notify.act_by_soon_days: must be from 1 to 365 (days); found 366",
        ),
        (
            "[notify]\nsync_failing_after = 101\n",
            "changedesk.toml:2:22: notify.sync_failing_after: must be from 1 to 100 (failed syncs in a row); found 101",
        ),
        (
            "[notify]\nsync_failing_after = -1\n",
            "notify.sync_failing_after: must be from 1 to 100",
        ),
        (
            "[notify]\nlate_after_days = \"7\"\n",
            "changedesk.toml:2:19: notify.late_after_days: expected i64, found a string",
        ),
    ] {
        let e = load_err(text, &[]).join("\n");
        assert!(e.contains(expect), "{text}\nexpected: {expect}\ngot: {e}");
    }
    let t = load_ok(
        "[notify]\nlate_after_days = 365\nact_by_soon_days = 1\nsync_failing_after = 100\n",
        &[],
    )
    .config
    .notify
    .thresholds;
    assert_eq!(
        (t.late_after_days, t.act_by_soon_days, t.sync_failing_after),
        (365, 1, 100)
    );
}

#[test]
fn the_notify_section_example_checks() {
    const SRC: &str = include_str!("notify.rs");
    let block: String = SRC
        .split("//! ```toml\n")
        .nth(1)
        .and_then(|rest| rest.split_once("//! ```\n"))
        .map(|(block, _)| {
            block
                .lines()
                .map(|l| {
                    l.strip_prefix("//! ")
                        .or(l.strip_prefix("//!"))
                        .unwrap_or(l)
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .expect("a TOML example in config/notify.rs");
    let c = check("notify.rs", &block).unwrap_or_else(|e| panic!("{e}\n---\n{block}"));
    assert_eq!(c.notify.channels.len(), 2);
    assert_eq!(c.notify.thresholds, crate::notify::Thresholds::default());
}

// ------------------------------------------------------------------ [app]

fn app(extra: &str) -> String {
    format!("[app]\nclient_id = \"{GUID_A}\"\n{extra}")
}

fn ts(s: &str) -> crate::timestamp::Timestamp {
    crate::timestamp::Timestamp::parse(s).expect("valid instant")
}

#[test]
fn app_section_parses_in_full() {
    let text = format!(
        "{}\n{}",
        tenant("contoso", "client_secret = \"s\"\n"),
        app(
            "client_secret_file = \"/etc/changedesk/app-secret\"\ncloud = \"GCCHigh\"\n\
             login_url = \"http://127.0.0.1:8080/login\"\ngraph_url = \"http://127.0.0.1:8080/graph\"\n\
             secret_expires = \"2027-06-30\"\n"
        )
    );
    let read = files(&[("/etc/changedesk/app-secret", "app-s3cret\n")]);
    let loaded = load_with(Some(&text), &[], CliOverrides::default(), &read).expect("loads");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let a = loaded.config.app.as_ref().expect("[app]");
    assert_eq!(a.client_id, GUID_A);
    assert_eq!(a.cloud, Cloud::GccHigh);
    assert_eq!(a.secret_expires, Some(ts("2027-06-30T00:00:00Z")));
    match &a.credential {
        Credential::Secret(s) => assert_eq!(s.expose_secret(), "app-s3cret"),
        other => panic!("{other:?}"),
    }
    assert_eq!(a.graph_scope(), "http://127.0.0.1:8080/graph/.default");

    // a tenant reached through the app: its urls, scope and expiry
    let t = a.tenant("fabrikam", GUID_B);
    assert_eq!(
        (t.name.as_str(), t.tenant_id.as_str()),
        ("fabrikam", GUID_B)
    );
    assert_eq!(t.client_id, GUID_A);
    assert_eq!(t.cloud, Cloud::GccHigh);
    assert_eq!(t.secret_expires, a.secret_expires);
    assert_eq!(secret_of(&t), "app-s3cret");
    assert_eq!(
        t.token_endpoint(),
        format!("http://127.0.0.1:8080/login/{GUID_B}/oauth2/v2.0/token")
    );
    assert_eq!(t.graph_scope(), "http://127.0.0.1:8080/graph/.default");
    // the configured tenant has no expiry
    assert_eq!(loaded.config.tenants[0].secret_expires, None);

    // check keeps the path and reads nothing
    let checked = check("x.toml", &text).expect("valid");
    match &checked.app.as_ref().expect("[app]").credential {
        CredentialSpec::SecretFile(p) => assert_eq!(p, Path::new("/etc/changedesk/app-secret")),
        other => panic!("{other:?}"),
    }

    // a certificate, and the defaults
    let c = check(
        "x.toml",
        &app("certificate_file = \"a.crt\"\nprivate_key_file = \"a.key\"\n"),
    )
    .expect("valid");
    let a = c.app.expect("[app]");
    assert!(matches!(a.credential, CredentialSpec::Certificate { .. }));
    assert_eq!(a.cloud, Cloud::Global);
    assert_eq!(
        (a.login_url, a.graph_url, a.secret_expires),
        (None, None, None)
    );

    // without [app] there is none
    assert!(
        load_ok(&tenant("contoso", "client_secret = \"s\"\n"), &[])
            .config
            .app
            .is_none()
    );
}

#[test]
fn app_credential_errors_point_at_app_keys() {
    const FORMS: &str = "give exactly one of client_secret, client_secret_file, or certificate_file with private_key_file";
    let cases: Vec<(String, Vec<String>)> = vec![
        (
            app(""),
            vec![format!("changedesk.toml:1:1: app: no credential: {FORMS}")],
        ),
        (
            "# the app\n[app]\nclient_secret = \"s\"\n".to_owned(),
            vec!["changedesk.toml:2:1: app: missing `client_id`".to_owned()],
        ),
        (
            app(&format!(
                "client_secret = \"{SECRET}\"\ncertificate_file = \"c.pem\"\nprivate_key_file = \"k.pem\"\n"
            )),
            vec![format!(
                "changedesk.toml:5:20: app.private_key_file: more than one credential (client_secret, certificate_file, private_key_file): {FORMS}"
            )],
        ),
        (
            app(&format!("client_secret_file = \"/run/x\"\nclient_secret = \"{SECRET}\"\n")),
            vec![format!(
                "changedesk.toml:4:17: app.client_secret: more than one credential (client_secret, client_secret_file): {FORMS}"
            )],
        ),
        (
            app("certificate_file = \"c.pem\"\n"),
            vec![
                "changedesk.toml:3:20: app.certificate_file: certificate_file needs private_key_file too (both PEM files)"
                    .to_owned(),
            ],
        ),
        (
            app("private_key_file = \"k.pem\"\n"),
            vec![
                "changedesk.toml:3:20: app.private_key_file: private_key_file needs certificate_file too (both PEM files)"
                    .to_owned(),
            ],
        ),
        (
            app("client_secret = \"\"\n"),
            vec!["changedesk.toml:3:17: app.client_secret: client_secret is empty".to_owned()],
        ),
        (
            app("client_secret_file = \"\"\n"),
            vec!["changedesk.toml:3:22: app.client_secret_file: the path is empty".to_owned()],
        ),
        (
            format!(
                "[app]\nclient_id = \"{SECRET}\"\nclient_secret = \"s\"\ncloud = \"azure\"\nlogin_url = \"ftp://x\"\n"
            ),
            vec![
                "changedesk.toml:2:13: app.client_id: not a GUID: expected the application (client) ID, like 00000000-0000-0000-0000-000000000000".to_owned(),
                "changedesk.toml:4:9: app.cloud: unknown cloud \"azure\" (expected global, gcc, gcchigh, dod or china)".to_owned(),
                "changedesk.toml:5:13: app.login_url: unsupported URL scheme `ftp`: expected http:// or https://".to_owned(),
            ],
        ),
    ];
    for (text, expected) in cases {
        let errors = check_err(&text);
        assert_eq!(errors, expected, "{text}");
        assert!(errors.iter().all(|e| !e.contains(SECRET)), "{errors:?}");
    }

    // an unreadable secret file, when loading
    let text = app("client_secret_file = \"/run/secrets/app\"\n");
    assert_eq!(
        load_err_with(&text, &[], &files(&[])),
        [
            "changedesk.toml:3:22: app.client_secret_file: cannot read secret file /run/secrets/app: No such file or directory (os error 2)"
        ]
    );
    assert_eq!(
        load_err_with(&text, &[], &files(&[("/run/secrets/app", "\n")])),
        ["changedesk.toml:3:22: app.client_secret_file: secret file /run/secrets/app is empty"]
    );
}

#[test]
fn unknown_key_in_app_is_an_error() {
    let text = app("client_secret = \"s\"\ntenant_id = \"contoso.onmicrosoft.com\"\n");
    assert_eq!(
        check_err(&text),
        [
            "changedesk.toml:4:1: app.tenant_id: unknown key `tenant_id`, expected one of `client_id`, `client_secret`, `client_secret_file`, `certificate_file`, `private_key_file`, `cloud`, `login_url`, `graph_url`, `secret_expires`"
        ]
    );
    assert_eq!(
        check_err("app = 1\n"),
        ["changedesk.toml:1:7: app: expected a table, found an integer"]
    );
    let errors = check_err("[[app]]\nclient_id = \"x\"\n");
    assert!(
        errors[0].starts_with("changedesk.toml:1:1: app"),
        "{errors:?}"
    );
}

#[test]
fn env_alone_defines_the_app() {
    let read = files(&[("/run/secrets/app", "from-env-file\n")]);
    let loaded = load_with(
        None,
        &[
            ("CHANGEDESK_APP__CLIENT_ID", GUID_B),
            ("CHANGEDESK_APP__CLIENT_SECRET_FILE", "/run/secrets/app"),
            ("CHANGEDESK_APP__CLOUD", "china"),
            ("CHANGEDESK_APP__GRAPH_URL", "http://127.0.0.1:9000"),
            ("CHANGEDESK_APP__LOGIN_URL", "http://127.0.0.1:9001/"),
            (
                "CHANGEDESK_APP__SECRET_EXPIRES",
                "2027-06-30T12:00:00+02:00",
            ),
        ],
        CliOverrides::default(),
        &read,
    )
    .expect("loads");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let a = loaded.config.app.expect("[app] from the environment");
    assert_eq!(a.client_id, GUID_B);
    assert_eq!(a.cloud, Cloud::China);
    assert_eq!(a.graph_scope(), "http://127.0.0.1:9000/.default");
    assert_eq!(a.login_base().as_str(), "http://127.0.0.1:9001/");
    assert_eq!(a.secret_expires, Some(ts("2027-06-30T10:00:00Z")));
    match &a.credential {
        Credential::Secret(s) => assert_eq!(s.expose_secret(), "from-env-file"),
        other => panic!("{other:?}"),
    }

    // incomplete: every missing piece names the variable to set
    let errors = load_err("", &[("CHANGEDESK_APP__CLOUD", "gcc")]);
    assert_eq!(
        errors,
        [
            "CHANGEDESK_APP__*: [app] is defined by environment variables but has no client_id (set CHANGEDESK_APP__CLIENT_ID)",
            "CHANGEDESK_APP__*: no credential: give exactly one of client_secret, client_secret_file, or certificate_file with private_key_file",
        ]
    );
    let errors = load_err_with(
        "",
        &[
            ("CHANGEDESK_APP__CLIENT_ID", GUID_A),
            ("CHANGEDESK_APP__CLIENT_SECRET_FILE", "/nope"),
        ],
        &files(&[]),
    );
    assert_eq!(
        errors,
        [
            "CHANGEDESK_APP__CLIENT_SECRET_FILE: cannot read secret file /nope: No such file or directory (os error 2)"
        ]
    );
    let errors = load_err("", &[("CHANGEDESK_APP__CLIENT_SECRET", SECRET)]);
    assert!(errors.iter().all(|e| !e.contains(SECRET)), "{errors:?}");
}

#[test]
fn env_overrides_the_app_of_the_file() {
    let file =
        app("certificate_file = \"old.crt\"\nprivate_key_file = \"app.key\"\ncloud = \"gcc\"\n");
    // a secret from the environment replaces the file's certificate
    let loaded = load_ok(
        &file,
        &[
            ("CHANGEDESK_APP__CLIENT_SECRET", "from-env"),
            ("CHANGEDESK_APP__CLIENT_ID", GUID_B),
        ],
    );
    let a = loaded.config.app.expect("[app]");
    assert_eq!(a.client_id, GUID_B);
    assert_eq!(a.cloud, Cloud::Gcc, "kept from the file");
    match &a.credential {
        Credential::Secret(s) => assert_eq!(s.expose_secret(), "from-env"),
        other => panic!("{other:?}"),
    }
    // a certificate key from the environment keeps the file's other key
    let loaded = load_ok(&file, &[("CHANGEDESK_APP__CERTIFICATE_FILE", "new.crt")]);
    match &loaded.config.app.expect("[app]").credential {
        Credential::Certificate {
            certificate_file,
            private_key_file,
        } => {
            assert_eq!(certificate_file, Path::new("new.crt"));
            assert_eq!(private_key_file, Path::new("app.key"));
        }
        other => panic!("{other:?}"),
    }
    // and drops the file's secret
    let errors = load_err(
        &app("client_secret = \"s\"\n"),
        &[("CHANGEDESK_APP__CERTIFICATE_FILE", "c.pem")],
    );
    assert_eq!(
        errors,
        [
            "CHANGEDESK_APP__CERTIFICATE_FILE: certificate_file needs private_key_file too (both PEM files)"
        ]
    );
    // both forms in the environment
    let errors = load_err(
        &file,
        &[
            ("CHANGEDESK_APP__CLIENT_SECRET", SECRET),
            ("CHANGEDESK_APP__CERTIFICATE_FILE", "c.pem"),
        ],
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("CHANGEDESK_APP__") && errors[0].contains("more than one credential"),
        "{errors:?}"
    );
    assert!(!errors[0].contains(SECRET));
}

#[test]
fn unknown_app_variables_are_warnings() {
    let loaded = load_ok(
        "",
        &[
            ("CHANGEDESK_APP__TENANT_ID", "hunter2"),
            ("CHANGEDESK_APP__CLIENT_SECRT", "hunter2"),
            ("CHANGEDESK_APP__client_id", "hunter2"),
            ("CHANGEDESK_APP", "hunter2"),
        ],
    );
    assert!(loaded.config.app.is_none());
    assert_eq!(loaded.warnings.len(), 4, "{:?}", loaded.warnings);
    assert!(loaded.warnings.iter().all(|w| !w.contains("hunter2")));
    let fields = "([app] fields: CLIENT_ID, CLIENT_SECRET, CLIENT_SECRET_FILE, CERTIFICATE_FILE, PRIVATE_KEY_FILE, CLOUD, LOGIN_URL, GRAPH_URL, SECRET_EXPIRES)";
    assert!(loaded.warnings.contains(&format!(
        "CHANGEDESK_APP__TENANT_ID is not a changedesk setting; ignored {fields}"
    )));
    assert!(loaded.warnings.contains(&format!(
        "CHANGEDESK_APP__CLIENT_SECRT is not a changedesk setting; ignored {fields}"
    )));
    assert!(
        loaded.warnings.contains(
            &"CHANGEDESK_APP__client_id is not a changedesk setting; ignored (variable names are upper case: CHANGEDESK_APP__CLIENT_ID)".to_owned()
        ),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn secret_expires_accepts_dates_and_instants() {
    let midnight = Some(ts("2027-06-30T00:00:00Z"));
    for (value, expected) in [
        ("\"2027-06-30\"", midnight),
        ("2027-06-30", midnight),
        ("\"2027-06-30T12:30:00Z\"", Some(ts("2027-06-30T12:30:00Z"))),
        (
            "\"2027-06-30T12:30:00.5-01:00\"",
            Some(ts("2027-06-30T13:30:00.5Z")),
        ),
        (
            "2027-06-30T12:30:00+02:00",
            Some(ts("2027-06-30T10:30:00Z")),
        ),
        ("2027-06-30 12:30:00Z", Some(ts("2027-06-30T12:30:00Z"))),
    ] {
        let text = app(&format!(
            "client_secret = \"s\"\nsecret_expires = {value}\n"
        ));
        let c = check("x.toml", &text).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(c.app.expect("[app]").secret_expires, expected, "{value}");
        let text = tenant(
            "contoso",
            &format!("client_secret = \"s\"\nsecret_expires = {value}\n"),
        );
        let c = check("x.toml", &text).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert_eq!(c.tenants[0].secret_expires, expected, "{value}");
    }
    // from the environment, for a tenant and the app
    let loaded = load_ok(
        &format!(
            "{}\n{}",
            tenant(
                "fab-rikam",
                "client_secret = \"s\"\nsecret_expires = \"2026-01-01\"\n"
            ),
            app("client_secret = \"s\"\n")
        ),
        &[
            (
                "CHANGEDESK_TENANTS__FAB_RIKAM__SECRET_EXPIRES",
                "2027-06-30",
            ),
            ("CHANGEDESK_APP__SECRET_EXPIRES", "2028-01-01T00:00:00Z"),
        ],
    );
    assert_eq!(loaded.config.tenants[0].secret_expires, midnight);
    assert_eq!(
        loaded.config.app.expect("[app]").secret_expires,
        Some(ts("2028-01-01T00:00:00Z"))
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn bad_secret_expires_is_an_error_at_its_key() {
    const FORMS: &str = "expected a date YYYY-MM-DD (e.g. 2027-06-30) or an RFC 3339 instant (e.g. 2027-06-30T12:00:00Z)";
    for (value, message) in [
        ("\"soon\"", format!("not a date or instant: {FORMS}")),
        ("\"2027-13-01\"", format!("not a date or instant: {FORMS}")),
        (
            "\"2027-06-30T12:00:00\"",
            format!("not a date or instant: {FORMS}"),
        ),
        ("\"30/06/2027\"", format!("not a date or instant: {FORMS}")),
        (
            "2027-06-30T12:00:00",
            format!("a local date-time or time has no time zone: {FORMS}"),
        ),
        (
            "12:00:00",
            format!("a local date-time or time has no time zone: {FORMS}"),
        ),
        ("20270630", format!("{FORMS}, found an integer")),
        ("[\"2027-06-30\"]", format!("{FORMS}, found an array")),
    ] {
        let text = app(&format!(
            "client_secret = \"s\"\nsecret_expires = {value}\n"
        ));
        assert_eq!(
            check_err(&text),
            [format!(
                "changedesk.toml:4:18: app.secret_expires: {message}"
            )],
            "{value}"
        );
        let text = tenant(
            "contoso",
            &format!("client_secret = \"s\"\nsecret_expires = {value}\n"),
        );
        assert_eq!(
            check_err(&text),
            [format!(
                "changedesk.toml:6:18: tenants[0].secret_expires: {message}"
            )],
            "{value}"
        );
    }
    // the value is not echoed
    let text = app(&format!(
        "client_secret = \"s\"\nsecret_expires = \"{SECRET}\"\n"
    ));
    assert!(check_err(&text).iter().all(|e| !e.contains(SECRET)));
    // from the environment
    assert_eq!(
        load_err(
            &app("client_secret = \"s\"\n"),
            &[("CHANGEDESK_APP__SECRET_EXPIRES", "next year")]
        ),
        [format!(
            "CHANGEDESK_APP__SECRET_EXPIRES: not a date or instant: {FORMS}"
        )]
    );
    assert_eq!(
        load_err(
            &tenant("contoso", "client_secret = \"s\"\n"),
            &[("CHANGEDESK_TENANTS__CONTOSO__SECRET_EXPIRES", "2027-02-30")]
        ),
        [format!(
            "CHANGEDESK_TENANTS__CONTOSO__SECRET_EXPIRES: not a date or instant: {FORMS}"
        )]
    );
}

#[test]
fn expiry_window_of_the_app() {
    let text = app("client_secret = \"s\"\nsecret_expires = 2027-06-30\n");
    let a = check("x.toml", &text).expect("valid").app.expect("[app]");
    assert_eq!(a.expires_within(ts("2027-06-01T00:00:00Z"), 30), Some(29));
    assert_eq!(a.expires_within(ts("2027-05-01T00:00:00Z"), 30), None);
    assert_eq!(a.expires_within(ts("2027-07-02T00:00:00Z"), 30), Some(-2));
    assert_eq!(
        a.tenant("t", GUID_B)
            .expires_within(ts("2027-06-01T00:00:00Z"), 30),
        Some(29)
    );
}

#[test]
fn admin_consent_url_for_the_global_cloud_and_a_base_path() {
    let a = check("x.toml", &app("client_secret = \"s\"\n"))
        .expect("valid")
        .app
        .expect("[app]");
    assert_eq!(
        a.admin_consent_url(
            "contoso.onmicrosoft.com",
            "https://changedesk.example/consent/done",
            "3q2+7w/x y&z=1"
        )
        .as_str(),
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/adminconsent\
         ?client_id=11111111-2222-3333-4444-555555555555\
         &scope=https%3A%2F%2Fgraph.microsoft.com%2F.default\
         &redirect_uri=https%3A%2F%2Fchangedesk.example%2Fconsent%2Fdone\
         &state=3q2%2B7w%2Fx+y%26z%3D1"
    );

    let text = app(
        "client_secret = \"s\"\ncloud = \"gcchigh\"\nlogin_url = \"http://127.0.0.1:8080/sim/login\"\n",
    );
    let a = check("x.toml", &text).expect("valid").app.expect("[app]");
    assert_eq!(
        a.admin_consent_url(GUID_B, "http://localhost:8080/consent", "s1")
            .as_str(),
        "http://127.0.0.1:8080/sim/login/66666666-7777-8888-9999-aaaaaaaaaaaa/v2.0/adminconsent\
         ?client_id=11111111-2222-3333-4444-555555555555\
         &scope=https%3A%2F%2Fgraph.microsoft.us%2F.default\
         &redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fconsent\
         &state=s1"
    );
    // a tenant id cannot leave its path segment
    let u = a.admin_consent_url("../x?y#z", "r", "s");
    assert!(
        u.as_str()
            .starts_with("http://127.0.0.1:8080/sim/login/..%2Fx%3Fy%23z/v2.0/adminconsent?"),
        "{u}"
    );
    assert_eq!(u.fragment(), None);
}

#[test]
fn app_debug_and_errors_show_no_secret() {
    let text = app(&format!("client_secret = \"{SECRET}\"\n"));
    let loaded = load_ok(&text, &[]);
    let a = loaded.config.app.as_ref().expect("[app]");
    match &a.credential {
        Credential::Secret(s) => assert_eq!(s.expose_secret(), SECRET),
        other => panic!("{other:?}"),
    }
    for shown in [
        format!("{a:?}"),
        format!("{a:#?}"),
        format!("{:?}", loaded.config),
        format!("{:?}", a.tenant("contoso", GUID_B)),
        format!("{:?}", check("x.toml", &text).expect("valid")),
    ] {
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(!shown.contains("Sup3r"), "{shown}");
    }
    for text in [
        format!("[app]\nclient_secret = \"{SECRET}\"\n"),
        format!("[app]\nclient_secret = {SECRET}\n"),
        format!("[app]\nclient_secrt = \"{SECRET}\"\n"),
        app(&format!(
            "client_secret = \"{SECRET}\"\nclient_secret_file = \"/x\"\n"
        )),
    ] {
        let errors = match check("changedesk.toml", &text) {
            Ok(_) => panic!("expected an error for {text}"),
            Err(e) => e.to_string(),
        };
        assert!(!errors.contains(SECRET), "{text}\n=> {errors}");
    }
}

// ------------------------------------------------------- [analytics]

#[test]
fn analytics_defaults_without_the_section() {
    let c = check("changedesk.toml", "").expect("valid");
    assert_eq!(c.analytics, crate::metrics::AnalyticsSettings::default());
    assert_eq!(c.analytics.calendar.working_weekdays.len(), 5);
    assert!(c.analytics.calendar.holidays.is_empty());
    assert_eq!(c.analytics.sla.triage_days, 5.0);
    assert_eq!(c.analytics.sla.major_triage_days, 2.0);
    assert_eq!(c.analytics.sla.close_days, None);
    // an empty section: the same
    let c = check("changedesk.toml", "[analytics]\n").expect("valid");
    assert_eq!(c.analytics, crate::metrics::AnalyticsSettings::default());
}

#[test]
fn analytics_a_complete_section() {
    let text = "[analytics]\n\
                working_days = [\"Sunday\", \"MONDAY\", \"tuesday\", \" wednesday \", \"thursday\", \"monday\"]\n\
                holidays = [\"2026-12-25\", 2026-12-26, \"2026-12-25\"]\n\
                triage_within_days = 3\n\
                major_triage_within_days = 1.5\n\
                close_within_days = 30\n";
    let c = load_ok(text, &[]).config;
    use time::Weekday::*;
    assert_eq!(
        c.analytics.calendar.working_weekdays,
        [Sunday, Monday, Tuesday, Wednesday, Thursday]
    );
    let holidays: Vec<String> = c
        .analytics
        .calendar
        .holidays
        .iter()
        .map(|d| d.to_string())
        .collect();
    assert_eq!(holidays, ["2026-12-25", "2026-12-26"]);
    assert_eq!(c.analytics.sla.triage_days, 3.0);
    assert_eq!(c.analytics.sla.major_triage_days, 1.5);
    assert_eq!(c.analytics.sla.close_days, Some(30.0));
}

#[test]
fn analytics_each_bad_value_is_reported_at_its_line() {
    let text = "[analytics]\n\
                working_days = [\"monday\", \"tuesday\", \"funday\"]\n\
                holidays = [\"2026-12-25\", \"25/12/2026\", \"2026-02-30\", 12, 2026-12-24T10:00:00Z, \"2026-13-01\"]\n\
                triage_within_days = 0\n\
                major_triage_within_days = -2\n\
                close_within_days = \"30\"\n";
    assert_eq!(
        check_err(text),
        [
            "changedesk.toml:2:38: analytics.working_days[2]: `funday` is not a weekday (monday … sunday)",
            "changedesk.toml:3:27: analytics.holidays[1]: `25/12/2026` is not a date YYYY-MM-DD, e.g. \"2026-12-25\"",
            "changedesk.toml:3:41: analytics.holidays[2]: `2026-02-30` is not a date YYYY-MM-DD, e.g. \"2026-12-25\"",
            "changedesk.toml:3:55: analytics.holidays[3]: expected a date YYYY-MM-DD, e.g. \"2026-12-25\", found an integer",
            "changedesk.toml:3:59: analytics.holidays[4]: expected a date YYYY-MM-DD, e.g. \"2026-12-25\", found a date and time",
            "changedesk.toml:3:81: analytics.holidays[5]: `2026-13-01` is not a date YYYY-MM-DD, e.g. \"2026-12-25\"",
            "changedesk.toml:4:22: analytics.triage_within_days: must be a number of working days greater than zero, not 0",
            "changedesk.toml:5:28: analytics.major_triage_within_days: must be a number of working days greater than zero, not -2",
            "changedesk.toml:6:21: analytics.close_within_days: expected a number of working days (e.g. 5), found a string",
        ]
    );
}

#[test]
fn analytics_refuses_no_working_day_and_odd_numbers() {
    assert_eq!(
        check_err("[analytics]\nworking_days = []\n"),
        [
            "changedesk.toml:2:16: analytics.working_days: give at least one working day (monday … sunday)"
        ]
    );
    for (value, shown) in [
        ("0.0", "0"),
        ("-0.5", "-0.5"),
        ("nan", "NaN"),
        ("inf", "inf"),
    ] {
        let errors = check_err(&format!("[analytics]\nclose_within_days = {value}\n"));
        assert_eq!(
            errors,
            [format!(
                "changedesk.toml:2:21: analytics.close_within_days: must be a number of working days greater than zero, not {shown}"
            )],
            "{value}"
        );
    }
    let errors = check_err("[analytics]\ntriage_within_days = true\n");
    assert_eq!(
        errors,
        [
            "changedesk.toml:2:22: analytics.triage_within_days: expected a number of working days (e.g. 5), found a boolean"
        ]
    );
    // not a list of strings: the file's shape error, with the key
    let errors = check_err("[analytics]\nworking_days = [\"monday\", 2]\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "changedesk.toml:2:27: analytics.working_days[1]: expected a string, found an integer"
        ),
        "{errors:?}"
    );
    // unknown keys
    let errors = check_err("[analytics]\ntriage_within = 5\n");
    assert!(
        errors[0].contains("analytics.triage_within: unknown key `triage_within`"),
        "{errors:?}"
    );
}
