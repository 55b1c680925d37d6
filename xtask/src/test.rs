//! `cargo xtask test`: everything CI checks, in order, stopping at the first failure.

use std::time::{Duration, Instant};

use crate::setup;
use crate::util::{cargo, cmd, root, Result};

/// A runtime on a free loopback port, stopped on drop.
struct Runtime {
    addr: String,
    child: std::process::Child,
}

impl Runtime {
    fn start() -> Result<Runtime> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let bin = root().join("target/debug/user-trace-runtime");
        // Any origin: the test runner serves its page on a random port.
        let child = cmd(
            &bin.to_string_lossy(),
            &["--listen", &addr, "--allow-origin", "*"],
        )
        .spawn("start a runtime for the end-to-end tests")?;
        for _ in 0..100 {
            if std::net::TcpStream::connect(&addr).is_ok() {
                return Ok(Runtime { addr, child });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("the runtime did not listen on {addr} within 5 s"))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const WASM: &str = "wasm32-unknown-unknown";

pub fn run(args: &[String]) -> Result {
    if let Some(extra) = args.first() {
        return Err(format!("`test` takes no arguments (got `{extra}`)"));
    }
    let start = Instant::now();
    setup::for_tests()?;

    cargo("fmt --all --check").run("formatting (fix with `cargo fmt --all`)")?;
    cargo("clippy --workspace --all-targets -- -D warnings").run("clippy, native")?;
    cargo(&format!(
        "clippy -p user-trace-protocol -p user-trace-model --lib --target {WASM} -- -D warnings"
    ))
    .run("clippy, wasm32: protocol and model as the panel compiles them")?;
    cargo(&format!(
        "clippy -p user-trace-panel --all-targets --target {WASM} -- -D warnings"
    ))
    .run("clippy, wasm32: the panel and its browser tests")?;
    cargo("test --workspace").run("native tests of every crate")?;
    // The browser tests include end-to-end tests against a real runtime on loopback.
    cargo("build -p user-trace-runtime").run("build the runtime for the end-to-end tests")?;
    let runtime = Runtime::start()?;
    cargo(&format!("test -p user-trace-panel --target {WASM}"))
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", setup::CHROMEDRIVER)
        .env("UTP_TEST_RUNTIME", &runtime.addr)
        .run("browser tests in headless Chromium, end-to-end against the runtime")?;
    drop(runtime);
    let runtime = Runtime::start()?;
    crate::examples::check(&runtime.addr)?;
    drop(runtime);

    println!(
        "\nall checks passed in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
