//! A runtime (and the demo's replay into it) for the jobs that need a real one: the end-to-end
//! tests, the example pages and the browser benchmark; and the panel's JavaScript package.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{cargo, cmd, root, target_dir, Result};

/// A runtime on a free loopback port that accepts any origin (test and bench pages are
/// served on random ports); stopped on drop.
pub struct Runtime {
    pub addr: String,
    profile: &'static str,
    child: Child,
}

impl Runtime {
    /// Starts `target/<profile>/user-trace-runtime` (built beforehand).
    pub fn start(profile: &'static str) -> Result<Runtime> {
        Runtime::start_with(profile, &[])
    }

    /// [`Runtime::start`] with more flags.
    pub fn start_with(profile: &'static str, flags: &[&str]) -> Result<Runtime> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        Runtime::start_on(profile, format!("127.0.0.1:{port}"), flags)
    }

    /// Starts a fresh runtime on `addr` (one that an earlier runtime, now stopped, had: the
    /// browser tests know it from their build).
    pub fn start_on(profile: &'static str, addr: String, flags: &[&str]) -> Result<Runtime> {
        let bin = target_dir().join(format!("{profile}/user-trace-runtime"));
        let child = Command::new(&bin)
            // Tests and benchmarks start from nothing each time.
            .args(["--listen", &addr, "--allow-origin", "*", "--in-memory"])
            .args(flags)
            .env("RUST_LOG", "warn")
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
        for _ in 0..100 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return Ok(Runtime {
                    addr,
                    profile,
                    child,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("the runtime did not listen on {addr} within 5 s"))
    }

    /// Sends a JSON Lines file of events with its recorded timing (`speed` 0: at once), with
    /// the demo's `replay` of the same profile.
    pub fn replay(&self, file: &Path, speed: f64) -> Result {
        let bin = target_dir().join(format!("{}/user-trace-demo", self.profile));
        let status = Command::new(&bin)
            .args(["--url", &format!("ws://{}/v1/ingest", self.addr), "replay"])
            .arg(file)
            .args(["--speed", &speed.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("could not start {}: {e}", bin.display()))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("replaying {} failed ({status})", file.display()))
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the panel's JavaScript package (`wasm-bindgen --target web` of the lib) into
/// `target/<out>` and returns that folder.
pub fn js_package(release: bool, out: &str) -> Result<PathBuf> {
    let (flag, profile) = if release {
        ("--release ", "release")
    } else {
        ("", "debug")
    };
    cargo(&format!(
        "build {flag}-p user-trace-panel --lib --no-default-features --target wasm32-unknown-unknown"
    ))
    .run(&format!("build the panel's JavaScript package ({profile})"))?;
    let pkg = root().join("target").join(out);
    let wasm = target_dir().join(format!(
        "wasm32-unknown-unknown/{profile}/user_trace_panel.wasm"
    ));
    cmd(
        "wasm-bindgen",
        &[
            "--target",
            "web",
            "--out-dir",
            &pkg.to_string_lossy(),
            &wasm.to_string_lossy(),
        ],
    )
    .run("generate the JavaScript glue")?;
    Ok(pkg)
}
