//! Configuration: the example parses back, errors name key and line,
//! precedence, and secrets never reach a log line, an output or the database.

use crate::harness::*;

#[test]
fn the_example_configuration_parses_back() {
    let s = Sandbox::new();
    let example = s.run(&["config", "example"]).ok().stdout;
    assert!(example.contains("[[tenants]]"));
    s.write("changedesk.toml", &example);
    let check = s.run(&["config", "check", "changedesk.toml"]).ok();
    assert!(check.stdout.contains("OK"), "{}", check.stdout);
    assert!(check.stdout.contains("contoso"), "{}", check.stdout);
    // and is used from the working directory by default
    let r = s.run(&["tenants", "list", "--format", "json"]).ok();
    assert!(r.stdout.contains("\"contoso\""), "{}", r.stdout);
}

#[test]
fn check_names_the_bad_key_and_its_line() {
    let s = Sandbox::new();
    s.write(
        "bad.toml",
        "database = \"sqlite://x.db\"\n\n[[tenants]]\nname = \"contoso\"\ntenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nclient_secret = \"hunter2-SECRET\"\ncloud = \"azure\"\n",
    );
    let r = s.run(&["config", "check", "bad.toml"]).fails();
    assert!(r.stderr.contains("bad.toml:8:"), "{}", r.stderr);
    assert!(r.stderr.contains("tenants[0].cloud"), "{}", r.stderr);
    assert!(
        !r.all().contains("hunter2-SECRET"),
        "the secret leaked: {}",
        r.all()
    );
    // a command that loads the configuration refuses it too, and creates nothing
    let r = s.run(&["--config", "bad.toml", "messages", "list"]).fails();
    assert!(r.stderr.contains("tenants[0].cloud"), "{}", r.stderr);
    assert!(!exists(&s.path("x.db")));
}

#[test]
fn check_without_a_file_says_how_to_name_one() {
    let s = Sandbox::new();
    let r = s.run(&["config", "check"]).fails();
    assert!(r.stderr.contains("CHANGEDESK_CONFIG"), "{}", r.stderr);
    let r = s.run(&["config", "check", "nope.toml"]).fails();
    assert!(
        r.stderr
            .contains("cannot read configuration file nope.toml"),
        "{}",
        r.stderr
    );
}

#[test]
fn command_line_beats_environment_beats_file() {
    let s = Sandbox::new();
    s.write("cfg.toml", "database = \"sqlite://from-file.db\"\n");
    let listing = serde_json::Value::Array(corpus(2));
    s.write_json("posts.json", &listing);
    let import = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["--config", "cfg.toml"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[
            "import",
            "posts.json",
            "--tenant",
            "alpha",
            "--create-tenant",
        ]);
        s.run_env(&args, env).ok();
    };
    import(&[], &[]);
    assert!(exists(&s.path("from-file.db")));
    import(&[], &[("CHANGEDESK_DATABASE", "sqlite://from-env.db")]);
    assert!(exists(&s.path("from-env.db")));
    import(
        &["--database", "sqlite://from-cli.db"],
        &[("CHANGEDESK_DATABASE", "sqlite://from-env.db")],
    );
    assert!(exists(&s.path("from-cli.db")));
    // CHANGEDESK_CONFIG names the file too
    let r = s
        .run_env(&["tenants", "list"], &[("CHANGEDESK_CONFIG", "cfg.toml")])
        .ok();
    assert!(r.stdout.contains("alpha"), "{}", r.stdout);
}

#[test]
fn an_unknown_database_scheme_is_an_error_and_creates_nothing() {
    let s = Sandbox::new();
    s.write_json("posts.json", &serde_json::Value::Array(corpus(1)));
    for url in ["mysql://localhost/x", "changedesk.db", "sqlit://x.db"] {
        let r = s
            .run(&[
                "--database",
                url,
                "import",
                "posts.json",
                "--tenant",
                "a",
                "--create-tenant",
            ])
            .fails();
        assert!(r.stderr.contains("--database"), "{url}: {}", r.stderr);
    }
    let entries: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries.len(), 1, "only posts.json: {entries:?}");
}

#[test]
fn secrets_never_reach_logs_outputs_or_the_database() {
    const FILE_SECRET: &str = "file-Secret-7f3a9c";
    const ENV_SECRET: &str = "env-Secret-41b2d8";
    const PG_PASSWORD: &str = "pg-Pass-99e1";
    let s = Sandbox::new();
    s.write(
        "cfg.toml",
        &format!(
            "database = \"sqlite://cd.db\"\nlog_format = \"json\"\n[[tenants]]\nname = \"contoso\"\ntenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nclient_secret = \"{FILE_SECRET}\"\n\n[[tenants]]\nname = \"fabrikam\"\ntenant_id = \"fabrikam.onmicrosoft.com\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\nclient_secret_file = \"secret.txt\"\n"
        ),
    );
    s.write("secret.txt", &format!("{ENV_SECRET}-from-file\n"));
    s.write_json("posts.json", &serde_json::Value::Array(corpus(3)));
    let env = [
        ("CHANGEDESK_LOG", "trace"),
        ("CHANGEDESK_TENANTS__CONTOSO__CLIENT_SECRET", ENV_SECRET),
    ];
    let mut seen = String::new();
    for args in [
        &[
            "--config",
            "cfg.toml",
            "import",
            "posts.json",
            "--tenant",
            "contoso",
            "--create-tenant",
        ][..],
        &[
            "--config", "cfg.toml", "-vv", "messages", "list", "--format", "json",
        ],
        &[
            "--config", "cfg.toml", "-vv", "tenants", "list", "--format", "json",
        ],
        &["--config", "cfg.toml", "tenants", "list"],
        &["config", "check", "cfg.toml"],
        &["--config", "cfg.toml", "export", "messages"],
    ] {
        let r = s.run_env(args, &env).ok();
        seen.push_str(&r.all());
    }
    // a bad value next to a secret, and a Postgres URL with a password
    let r = s.run_env(
        &[
            "--config",
            "cfg.toml",
            "--database",
            &format!("postgres://u:{PG_PASSWORD}@127.0.0.1:1/x"),
            "messages",
            "list",
        ],
        &env,
    );
    seen.push_str(&r.all());
    assert!(
        seen.contains("\"level\""),
        "json logs were captured: {seen}"
    );
    for secret in [FILE_SECRET, ENV_SECRET, PG_PASSWORD] {
        assert!(!seen.contains(secret), "{secret} leaked:\n{seen}");
    }
    let db = std::fs::read(s.path("cd.db")).unwrap();
    let wal = std::fs::read(s.path("cd.db-wal")).unwrap_or_default();
    for secret in [FILE_SECRET, ENV_SECRET] {
        let needle = secret.as_bytes();
        assert!(
            !db.windows(needle.len()).any(|w| w == needle),
            "{secret} in the database"
        );
        assert!(
            !wal.windows(needle.len()).any(|w| w == needle),
            "{secret} in the WAL"
        );
    }
}

#[test]
fn user_link_ties_an_entra_account_to_a_local_user_and_unlink_undoes_it() {
    let sb = Sandbox::new();
    let db = format!("sqlite://{}", sb.path("users.db").display());
    let pw = [("CHANGEDESK_PASSWORD", "a long enough password 1")];
    sb.run_env(&["--database", &db, "user", "add", "ada", "--admin"], &pw)
        .ok();
    let oid = "5f2b6a4e-1c3d-4e5f-8a9b-0c1d2e3f4a5b";
    let issuer = "https://login.microsoftonline.com/contoso/v2.0";
    let link = ["--database", &db, "user", "link", "ada", "--subject", oid];
    // no [oidc] section: the issuer must be said
    let e = sb.run(&link).fails();
    assert!(e.stderr.contains("--issuer"), "{}", e.stderr);
    let mut with_issuer = link.to_vec();
    with_issuer.extend(["--issuer", issuer]);
    let out = sb.run(&with_issuer).ok();
    assert!(out.stdout.contains("linked"), "{}", out.stdout);
    let again = sb.run(&with_issuer).ok();
    assert!(again.stdout.contains("already linked"), "{}", again.stdout);
    // an account links to one user only
    sb.run_env(&["--database", &db, "user", "add", "bob"], &pw)
        .ok();
    let mut to_bob = with_issuer.clone();
    to_bob[4] = "bob";
    let e = sb.run(&to_bob).fails();
    assert!(e.stderr.contains("linked to user `ada`"), "{}", e.stderr);
    let mut unlink = with_issuer.clone();
    unlink[3] = "unlink";
    assert!(sb.run(&unlink).ok().stdout.contains("unlinked"));
    let e = sb.run(&unlink).fails();
    assert!(e.stderr.contains("is not linked to ada"), "{}", e.stderr);
    let e = sb
        .run(&[
            "--database",
            &db,
            "user",
            "link",
            "nobody",
            "--subject",
            oid,
            "--issuer",
            issuer,
        ])
        .fails();
    assert!(e.stderr.contains("nobody"), "{}", e.stderr);
}

#[test]
fn user_commands_refuse_unknown_names_and_reading_creates_no_database() {
    let sb = Sandbox::new();
    let file = sb.path("users.db");
    let db = format!("sqlite://{}", file.display());
    let pw = [("CHANGEDESK_PASSWORD", "a long enough password 1")];
    // commands that only read never create the archive
    for args in [["user", "list"], ["user", "tokens"]] {
        let e = sb
            .run(&[&["--database", db.as_str()][..], &args[..]].concat())
            .fails();
        assert!(!e.stderr.contains("panicked"), "{}", e.stderr);
        assert!(
            !exists(&file),
            "`{}` created {}",
            args.join(" "),
            file.display()
        );
    }
    // a scope names tenants and groups that exist
    let e = sb
        .run_env(
            &[
                "--database",
                &db,
                "user",
                "add",
                "ada",
                "--admin",
                "--tenant",
                "nope",
            ],
            &pw,
        )
        .fails();
    assert!(e.stderr.contains("unknown tenant `nope`"), "{}", e.stderr);
    sb.run_env(&["--database", &db, "user", "add", "ada", "--admin"], &pw)
        .ok();
    let e = sb
        .run_env(
            &[
                "--database",
                &db,
                "user",
                "add",
                "bob",
                "--group",
                "no-group",
            ],
            &pw,
        )
        .fails();
    assert!(
        e.stderr.contains("unknown tenant group `no-group`"),
        "{}",
        e.stderr
    );
    let e = sb
        .run(&["--database", &db, "user", "set", "ada", "--tenant", "typo"])
        .fails();
    assert!(e.stderr.contains("unknown tenant `typo`"), "{}", e.stderr);
    let e = sb
        .run(&[
            "--database",
            &db,
            "user",
            "token",
            "ada",
            "--tenant",
            "typo",
        ])
        .fails();
    assert!(e.stderr.contains("unknown tenant `typo`"), "{}", e.stderr);
    let listed = sb.run(&["--database", &db, "user", "list"]).ok();
    assert!(listed.stdout.contains("every tenant"), "{}", listed.stdout);
    // an admin clears a user's failed sign-ins
    let out = sb.run(&["--database", &db, "user", "unlock", "ada"]).ok();
    assert!(out.stdout.contains("unlocked ada"), "{}", out.stdout);
    let e = sb
        .run(&["--database", &db, "user", "unlock", "nobody"])
        .fails();
    assert!(e.stderr.contains("nobody"), "{}", e.stderr);
}

#[test]
fn processes_creating_one_new_archive_at_once_all_succeed() {
    let sb = Sandbox::new();
    for round in 0..3 {
        let db = format!("sqlite://{}", sb.path(&format!("new-{round}.db")).display());
        let children: Vec<_> = (0..4)
            .map(|i| {
                sb.command(&["--database", &db, "user", "add", &format!("user{i}")])
                    .env("CHANGEDESK_PASSWORD", "a long enough password 1")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (i, c) in children.into_iter().enumerate() {
            let out = c.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}, process {i}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let listed = sb.run(&["--database", &db, "user", "list"]).ok();
        assert_eq!(
            listed.stdout.matches("user").count() - 1,
            4,
            "{}",
            listed.stdout
        );
    }
}

/// `changedesk secrets`: a key is made into a private file that is never
/// overwritten, the configured key is checked, and every way of getting it
/// wrong says how to fix it, without ever printing a key.
#[test]
fn secrets_generate_key_and_check() {
    let s = Sandbox::new();
    let none = s.run(&["secrets", "check"]).fails();
    assert!(
        none.stderr.contains("no secret key is configured"),
        "{}",
        none.stderr
    );
    assert!(none.stderr.contains("secret_key_file"), "{}", none.stderr);

    let made = s.run(&["secrets", "generate-key", "--write", "k.key"]).ok();
    let text = std::fs::read_to_string(s.path("k.key")).unwrap();
    let key = text.lines().find(|l| !l.starts_with('#')).unwrap();
    assert_eq!(key.len(), 44, "{text}");
    assert!(!made.stdout.contains(key) && !made.stderr.contains(key));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(s.path("k.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = s
        .run(&["secrets", "generate-key", "--write", "k.key"])
        .fails();
    assert!(
        again.stderr.contains("never overwritten"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read_to_string(s.path("k.key")).unwrap(), text);

    s.write("c.toml", "[server]\nsecret_key_file = \"k.key\"\n");
    let ok = s.run(&["--config", "c.toml", "secrets", "check"]).ok();
    assert!(ok.stdout.contains("primary key "), "{}", ok.stdout);
    assert!(!ok.stdout.contains(key));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(s.path("k.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let open = s.run(&["--config", "c.toml", "secrets", "check"]).fails();
        assert!(open.stderr.contains("chmod 600"), "{}", open.stderr);
    }
    // the environment's key wins; a bad one is refused without echoing it
    let printed = s.run(&["secrets", "generate-key"]).ok().stdout;
    let env_key = printed.trim();
    let ok = s
        .run_env(
            &["--config", "c.toml", "secrets", "check"],
            &[("CHANGEDESK_SECRET_KEY", env_key)],
        )
        .ok();
    assert!(ok.stdout.contains("CHANGEDESK_SECRET_KEY"), "{}", ok.stdout);
    let bad = s
        .run_env(
            &["secrets", "check"],
            &[("CHANGEDESK_SECRET_KEY", "not-a-key-at-all")],
        )
        .fails();
    assert!(bad.stderr.contains("not usable"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("not-a-key-at-all"));
}
