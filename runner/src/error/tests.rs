//! One exit status per error kind.

use std::path::PathBuf;

use super::{Error, chain};
use crate::env::EnvError;
use crate::status;

fn io() -> std::io::Error {
    std::io::Error::other("disk on fire")
}

#[test]
fn usage_errors_exit_2() {
    let usage = [
        Error::ReadLab {
            path: "x.md".into(),
            source: crate::lab::source::ReadError::NotUtf8 { line: 1, col: 1 },
        },
        Error::LabErrors {
            path: "x.md".into(),
            count: 2,
        },
        Error::NoLab {
            paths: vec!["d".into()],
        },
        Error::NoStep {
            id: "s".into(),
            lab: "l".into(),
            steps: vec!["a".into()],
        },
        Error::EnvNotSupported {
            lab: "l".into(),
            env: "kube".into(),
            supported: vec!["sandbox".into()],
        },
        Error::Usage("--to expects an IPv4 address".into()),
        Error::report(anyhow::anyhow!("no report")),
        Error::Env(EnvError::UnknownEnv {
            name: "nope".into(),
            known: "local".into(),
        }),
        tplab_sandbox::SandboxError::BadId { id: "A!".into() }.into(),
        tplab_sandbox::SandboxError::UnknownRole { role: "r".into() }.into(),
    ];
    for e in usage {
        assert_eq!(e.code(), status::USAGE, "{e}");
    }
}

#[test]
fn environment_errors_exit_3() {
    let env = [
        Error::Env(EnvError::NoSandbox),
        Error::Env(EnvError::ManySandboxes {
            ids: vec!["a".into(), "b".into()],
        }),
        Error::Env(EnvError::sandbox(
            "opening the sandbox",
            tplab_sandbox::SandboxError::NotFound {
                id: "nosuch".into(),
                path: PathBuf::from("/run/x"),
            },
        )),
        tplab_sandbox::SandboxError::NotRoot {
            action: "sandbox up".into(),
        }
        .into(),
        Error::WriteReport {
            dir: "r".into(),
            source: io(),
        },
        Error::Runtime(io()),
        Error::Io(io()),
        Error::Json(serde_json::from_str::<u8>("x").unwrap_err()),
    ];
    for e in env {
        assert_eq!(e.code(), status::ENV, "{e}");
    }
}

#[test]
fn chain_prints_each_cause_once() {
    let e = Error::Env(EnvError::io("locating tplab", io()));
    assert_eq!(chain(&e), "locating tplab: disk on fire");
    let e = Error::report(anyhow::anyhow!("disk on fire").context("reading r.json"));
    assert_eq!(chain(&e), "reading r.json: disk on fire");
}
