//! Shared by the `b24` tests: an emulator portal, the binary run against it with a clean
//! environment, and checks that every refusal sent nothing and no secret leaked.
#![allow(dead_code)] // each test binary uses a part

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use bitrix24_emulator::{Emulator, EmulatorBuilder, RunningEmulator};
use serde_json::Value;

pub const SECRET: &str = "s3cr3tC0deXYZ";

pub struct Portal {
    pub emu: RunningEmulator,
    _rt: tokio::runtime::Runtime,
    pub dir: PathBuf,
}

pub fn portal(seed_deals: u64) -> Portal {
    portal_with(Emulator::builder().seed_deals(seed_deals))
}

/// A portal from `builder`, with the test's webhook.
pub fn portal_with(builder: EmulatorBuilder) -> Portal {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let emu = rt.block_on(builder.webhook(1, SECRET).start()).unwrap();
    let dir = std::env::temp_dir().join(format!(
        "b24-cli-test-{}-{:x}",
        std::process::id(),
        fastrand_u64()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    Portal { emu, _rt: rt, dir }
}

pub fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

impl Portal {
    /// The binary with a clean environment pointing at this portal.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("b24"));
        c.current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("B24_WEBHOOK_URL", self.emu.webhook_url())
            .env("B24_RATE_LIMITER", "off")
            .env("B24_AUDIT_FILE", self.dir.join("audit.jsonl"))
            .env("B24_PLAN_FILE", self.dir.join("plans.json"))
            .env("B24_IDEMPOTENCY_FILE", self.dir.join("idem.json"));
        c
    }

    /// [`Portal::std_cmd`] for `assert_cmd`.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    pub fn b24(&self, args: &[&str]) -> Output {
        run(self.cmd(), args)
    }

    pub fn requests(&self) -> u64 {
        self.emu.control().request_count()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// Runs `cmd` (one of [`Portal::cmd`], maybe with more environment) with `args`: no secret
/// may appear in its output.
pub fn run(mut cmd: Command, args: &[&str]) -> Output {
    let out = cmd.args(args).output().unwrap();
    for s in [&out.stdout, &out.stderr] {
        assert!(
            !String::from_utf8_lossy(s).contains(SECRET),
            "secret printed by {args:?}"
        );
    }
    out
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout not JSON ({e}): {}",
            String::from_utf8_lossy(&o.stdout)
        )
    })
}

/// Runs a command that must be refused: exit 2, the message mentions every `words`, and the
/// portal saw no request.
pub fn refused(p: &Portal, args: &[&str], words: &[&str]) {
    refused_by(p, p.cmd(), args, words);
}

/// [`refused`] for `cmd` (one of [`Portal::cmd`], maybe with more environment).
pub fn refused_by(p: &Portal, cmd: Command, args: &[&str], words: &[&str]) {
    let before = p.requests();
    let o = run(cmd, args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    for w in words {
        assert!(err.contains(w), "{args:?}: {err:?} lacks {w:?}");
    }
    assert_eq!(p.requests(), before, "{args:?} sent a request");
}

pub fn secret_free(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            assert_eq!(
                text.matches(SECRET).count(),
                0,
                "secret in {}",
                path.display()
            );
        }
    }
}
