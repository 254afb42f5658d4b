//! `changedesk sync` against the simulator, as a separate process: the
//! summary and exit code, and a sync killed at failpoints then rerun.

use std::fmt::Write as _;

use changedesk_sim::{CorpusSpec, SimConfig, SimHandle, TenantMode};

use crate::harness::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn start_sim(rt: &tokio::runtime::Runtime, tenants: usize) -> SimHandle {
    rt.block_on(changedesk_sim::start(SimConfig {
        tenants,
        spec: CorpusSpec {
            posts: 120,
            issues: 10,
            tenants,
            seed: 3,
            ..CorpusSpec::default()
        },
        seed: 3,
        ..SimConfig::default()
    }))
    .expect("simulator starts")
}

/// One tenant at a time: which tenant first brings an edited post (kept as
/// the revision's source) then does not depend on timing, so two runs can be
/// compared byte for byte.
fn config(sim: &SimHandle) -> String {
    let base = sim.base_url();
    let mut out = String::from("[sync]\nmax_retry_time = \"2s\"\nconcurrency = 1\n");
    for t in sim.tenants() {
        let _ = write!(
            out,
            "\n[[tenants]]\nname = \"{}\"\ntenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\nlogin_url = \"{base}\"\ngraph_url = \"{base}\"\n",
            t.name, t.tenant_id, t.client_id, t.client_secret
        );
    }
    out
}

fn sync_at(s: &Sandbox, now: &str, failpoint: Option<&str>) -> Run {
    let mut env = vec![("CHANGEDESK_NOW", now)];
    if let Some(f) = failpoint {
        env.push(("CHANGEDESK_FAILPOINT", f));
    }
    s.run_env(&["--config", "cfg.toml", "sync"], &env)
}

#[test]
fn sync_prints_a_summary_and_its_exit_code_says_whether_all_succeeded() {
    let rt = runtime();
    let sim = start_sim(&rt, 3);
    let s = Sandbox::new();
    s.write("cfg.toml", &config(&sim));
    let r = sync_at(&s, "2026-08-22T00:00:00Z", None).ok();
    for t in ["tenant-001", "tenant-002", "tenant-003"] {
        assert!(r.stdout.contains(t), "{}", r.stdout);
    }
    assert!(
        r.stdout.contains("(full)") && r.stdout.contains("ok"),
        "{}",
        r.stdout
    );
    let r = sync_at(&s, "2026-08-22T01:00:00Z", None).ok();
    assert!(r.stdout.contains("(incremental)"), "{}", r.stdout);
    sim.set_tenant_mode("tenant-002", TenantMode::ConsentRevoked)
        .unwrap();
    let r = sync_at(&s, "2026-08-22T02:00:00Z", None).fails();
    assert!(
        r.all().contains("Authorization_RequestDenied"),
        "{}",
        r.all()
    );
    assert!(r.stderr.contains("1 of 3 tenants failed"), "{}", r.stderr);
    let tenants = s
        .run(&[
            "--config", "cfg.toml", "tenants", "list", "--format", "json",
        ])
        .ok()
        .stdout;
    assert!(
        tenants.contains("Authorization_RequestDenied"),
        "the failure is kept: {tenants}"
    );
    rt.block_on(sim.shutdown());
}

fn copy_db(from: &Sandbox, to: &Sandbox) {
    for suffix in ["", "-wal", "-shm"] {
        let src = from.path(&format!("changedesk.db{suffix}"));
        if src.exists() {
            std::fs::copy(&src, to.path(&format!("changedesk.db{suffix}"))).unwrap();
        }
    }
}

#[test]
fn a_sync_killed_at_failpoints_then_rerun_ends_identical() {
    let rt = runtime();
    let sim = start_sim(&rt, 3);
    let cfg = config(&sim);
    let (t0, t1) = ("2026-08-22T00:00:00Z", "2026-08-22T12:00:00Z");
    // day 0 for everybody, then the simulator moves on a day
    let base = Sandbox::new();
    base.write("cfg.toml", &cfg);
    sync_at(&base, t0, None).ok();
    rt.block_on(async { sim.advance(1, 5) });

    let reference = Sandbox::new();
    reference.write("cfg.toml", &cfg);
    copy_db(&base, &reference);
    sync_at(&reference, t1, None).ok();
    let expected = reference.run(&["export", "messages"]).ok().stdout;
    let before = base.run(&["export", "messages"]).ok().stdout;
    assert_ne!(expected, before, "the day changed the archive");

    for failpoint in [
        "import.item=20",
        "sync.messages_stored=2",
        "import.commit=2",
        "import.committed=3",
    ] {
        let s = Sandbox::new();
        s.write("cfg.toml", &cfg);
        copy_db(&base, &s);
        let crashed = sync_at(&s, t1, Some(failpoint));
        assert_ne!(
            crashed.code,
            Some(0),
            "{failpoint}: the sync should have died\n{}",
            crashed.all()
        );
        assert!(
            crashed.stderr.contains("failpoint"),
            "{failpoint}: {}",
            crashed.stderr
        );
        sync_at(&s, t1, None).ok();
        let got = s.run(&["export", "messages"]).ok().stdout;
        if let Some((a, b)) = got.lines().zip(expected.lines()).find(|(a, b)| a != b) {
            panic!(
                "{failpoint}: the rerun differs from an uninterrupted run\n got: {a}\nwant: {b}"
            );
        }
        assert_eq!(
            got.lines().count(),
            expected.lines().count(),
            "{failpoint}: the same posts"
        );
    }
    rt.block_on(sim.shutdown());
}

/// `changedesk sim --itsm` serves the change-control mocks beside Graph and
/// says where, with test credentials: the ServiceNow mock it names answers,
/// and refuses a request without credentials as ServiceNow does.
#[test]
fn the_simulator_serves_the_change_control_mocks_on_request() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let sb = Sandbox::new();
    let mut child = sb
        .command(&["sim", "--listen", "127.0.0.1:0", "--tenants", "1", "--itsm"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 || line.starts_with("Press Ctrl-C") {
            break;
        }
        lines.push(line);
    }
    let text = lines.concat();
    for system in ["ServiceNow mock", "Jira Cloud mock", "GLPI mock"] {
        assert!(text.contains(system), "{system}:\n{text}");
    }
    let servicenow = lines
        .iter()
        .find(|l| l.starts_with("ServiceNow mock"))
        .and_then(|l| l.split("at http://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_owned();
    let mut conn = std::net::TcpStream::connect(&servicenow).unwrap();
    write!(
        conn,
        "GET /api/now/table/change_request HTTP/1.1\r\nHost: {servicenow}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("User Not Authenticated"), "{answer}");
}
