//! A child process killed at failpoints inside an import, then the import
//! rerun: the archive ends identical to an uninterrupted run.

use serde_json::Value;

use crate::harness::*;

/// Round 1, then round 2 (edits, removals, additions), for two tenants.
fn rounds() -> (Value, Value) {
    let all = corpus(40);
    let round1 = Value::Array(all[..30].to_vec());
    let round2 = Value::Array(
        all.iter()
            .enumerate()
            .filter(|(i, _)| i % 7 != 3)
            .map(|(i, v)| if i % 4 == 0 { edited(v) } else { v.clone() })
            .collect(),
    );
    (round1, round2)
}

fn load(s: &Sandbox, file: &str, tenant: &str, now: &str, failpoint: Option<&str>) -> Run {
    let mut env = vec![("CHANGEDESK_NOW", now)];
    if let Some(f) = failpoint {
        env.push(("CHANGEDESK_FAILPOINT", f));
    }
    s.run_env(
        &["import", file, "--tenant", tenant, "--create-tenant"],
        &env,
    )
}

fn archive(s: &Sandbox) -> String {
    s.run(&["export", "messages"]).ok().stdout
}

#[test]
fn a_killed_import_leaves_the_archive_as_if_it_never_ran() {
    let (round1, round2) = rounds();
    let steps = [
        ("r1.json", "alpha", "2026-09-01T00:00:00Z"),
        ("r1.json", "beta", "2026-09-01T00:05:00Z"),
        ("r2.json", "alpha", "2026-09-02T00:00:00Z"),
    ];

    let reference = Sandbox::new();
    reference.write_json("r1.json", &round1);
    reference.write_json("r2.json", &round2);
    for (file, tenant, now) in steps {
        load(&reference, file, tenant, now, None).ok();
    }
    let expected = archive(&reference);
    assert!(
        expected.contains("\"visible\":false") && expected.contains("\"revision\":2"),
        "the rounds change things"
    );

    for failpoint in [
        "import.item=1",
        "import.item=17",
        "import.commit",
        "import.committed",
    ] {
        let s = Sandbox::new();
        s.write_json("r1.json", &round1);
        s.write_json("r2.json", &round2);
        for (file, tenant, now) in &steps[..2] {
            load(&s, file, tenant, now, None).ok();
        }
        let before = archive(&s);
        let (file, tenant, now) = steps[2];
        let crashed = load(&s, file, tenant, now, Some(failpoint));
        assert_ne!(
            crashed.code,
            Some(0),
            "{failpoint}: the child should have died\n{}",
            crashed.all()
        );
        assert!(
            crashed.stderr.contains("failpoint"),
            "{failpoint}: {}",
            crashed.stderr
        );
        let after_crash = archive(&s);
        if failpoint == "import.committed" {
            assert_eq!(
                after_crash, expected,
                "{failpoint}: the commit happened before the crash"
            );
        } else {
            assert_eq!(
                after_crash, before,
                "{failpoint}: nothing of the crashed import is visible"
            );
        }
        load(&s, file, tenant, now, None).ok();
        assert_eq!(
            archive(&s),
            expected,
            "{failpoint}: the rerun ends identical to an uninterrupted run"
        );
    }
}
