//! Running commands with a clear account of what runs and why it failed.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

pub type Result<T = ()> = std::result::Result<T, String>;

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Where cargo puts what it builds: `CARGO_TARGET_DIR` when set (several worktrees can share
/// one), else `target/` in the repository.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root().join(d) })
        .unwrap_or_else(|| root().join("target"))
}

pub struct Cmd {
    inner: Command,
    shown: String,
}

pub fn cmd(program: &str, args: &[&str]) -> Cmd {
    let mut inner = Command::new(program);
    inner.args(args).current_dir(root());
    Cmd {
        inner,
        shown: format!("{program} {}", args.join(" ")),
    }
}

/// `cargo` with whitespace-separated arguments (none of ours contains a space).
pub fn cargo(args: &str) -> Cmd {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let args: Vec<&str> = args.split_whitespace().collect();
    let mut c = cmd(&cargo, &args);
    c.shown = format!("cargo {}", args.join(" "));
    c
}

impl Cmd {
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.inner.env(key, value);
        self.shown = format!("{key}={value} {}", self.shown);
        self
    }

    /// Runs to completion; `what` says what the step is for, in the failure message.
    pub fn run(mut self, what: &str) -> Result {
        println!("\n==> {what}\n    $ {}", self.shown);
        let start = Instant::now();
        let status = self
            .inner
            .status()
            .map_err(|e| format!("could not start `{}`: {e}", self.shown))?;
        if !status.success() {
            return Err(format!(
                "step failed: {what}\n    command: {}\n    ({status})",
                self.shown
            ));
        }
        println!("    ok in {:.1} s", start.elapsed().as_secs_f64());
        Ok(())
    }

    /// Runs quietly and returns stdout, or None when it cannot run or fails.
    pub fn output(mut self) -> Option<String> {
        let out = self
            .inner
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn spawn(mut self, what: &str) -> Result<std::process::Child> {
        println!("\n==> {what}\n    $ {}", self.shown);
        self.inner
            .spawn()
            .map_err(|e| format!("could not start `{}`: {e}", self.shown))
    }

    pub fn command(&mut self) -> &mut Command {
        &mut self.inner
    }
}
