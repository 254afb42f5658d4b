use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code,
            Some(0),
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn fails(self) -> Run {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit 1\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A temporary working directory to run the binary in.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
            env: vec![("CHANGEDESK_NOW".into(), "2026-09-01T00:00:00Z".into())],
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).expect("write file");
        p
    }

    pub fn write_json(&self, name: &str, v: &Value) -> PathBuf {
        self.write(name, &serde_json::to_string_pretty(v).unwrap())
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_changedesk"));
        c.current_dir(self.dir.path()).args(args);
        for (k, _) in std::env::vars() {
            if k.starts_with("CHANGEDESK_") || k == "RUST_LOG" {
                c.env_remove(k);
            }
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().expect("run changedesk"))
    }

    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        Run::from(c.output().expect("run changedesk"))
    }
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// A small deterministic corpus in Graph's wire shape, made here so the tests
/// need nothing from outside the project.
pub fn corpus(n: usize) -> Vec<Value> {
    let services = [
        "Microsoft Teams",
        "Exchange Online",
        "SharePoint Online",
        "Microsoft Entra",
        "Microsoft Purview",
    ];
    let categories = ["planForChange", "stayInformed", "preventOrFixIssue"];
    (0..n)
        .map(|i| {
            json!({
                "startDateTime": format!("2026-0{}-1{}T10:00:00Z", 1 + i % 8, i % 10),
                "endDateTime": "2027-01-31T08:00:00Z",
                "lastModifiedDateTime": format!("2026-08-{:02}T{:02}:15:30.{}Z", 1 + i % 28, i % 24, 100 + i),
                "title": format!("{}: change number {i}", services[i % services.len()]),
                "id": format!("MC{}", 1_100_000 + i),
                "category": categories[i % 3],
                "severity": if i % 17 == 0 { "high" } else { "normal" },
                "tags": if i % 2 == 0 { json!(["User impact"]) } else { json!(["Admin impact", "Retirement"]) },
                "isMajorChange": i % 5 == 0,
                "actionRequiredByDateTime": if i % 6 == 0 { json!(format!("2026-10-{:02}T00:00:00Z", 1 + i % 28)) } else { Value::Null },
                "services": [services[i % services.len()]],
                "hasAttachments": false,
                "viewPoint": null,
                "details": [{"name": "Summary", "value": format!("Summary {i}")}, {"name": "RoadmapIds", "value": format!("{}", 400_000 + i)}],
                "body": {"contentType": "html", "content": format!("<p>[When this will happen:]</p><p>Rollout {i} begins in October 2026.</p><p>[What you need to do to prepare:]</p><p>Nothing.</p>")}
            })
        })
        .collect()
}

/// `v` edited: a newer lastModifiedDateTime and a moved date in the body.
pub fn edited(v: &Value) -> Value {
    let mut v = v.clone();
    v["lastModifiedDateTime"] = json!("2026-08-30T12:00:00Z");
    v["title"] = json!(format!("(Updated) {}", v["title"].as_str().unwrap()));
    let body = v["body"]["content"]
        .as_str()
        .unwrap()
        .replace("October 2026", "December 2026");
    v["body"]["content"] = json!(body);
    v
}
