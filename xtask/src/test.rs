//! `cargo xtask test`: everything CI checks, in order, stopping at the first failure.

use std::time::Instant;

use crate::runtime::Runtime;
use crate::util::{cargo, target_dir, Result};
use crate::{python, setup};

const WASM: &str = "wasm32-unknown-unknown";

pub fn run(args: &[String]) -> Result {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => {}
        ["--only", "python"] => return python_only(),
        ["--only", "otel"] => return crate::otel::test(),
        _ => {
            return Err(format!(
                "`test` takes no arguments but `--only python` or `--only otel` (got `{}`)",
                args.join(" ")
            ))
        }
    }
    let start = Instant::now();
    setup::for_tests()?;

    cargo("fmt --all --check").run("formatting (fix with `cargo fmt --all`)")?;
    cargo("clippy --workspace --all-targets -- -D warnings").run("clippy, native")?;
    cargo(&format!(
        "clippy -p user-trace-json -p user-trace-protocol -p user-trace-model --lib --target {WASM} -- -D warnings"
    ))
    .run("clippy, wasm32: the JSON reader, protocol and model as the panel compiles them")?;
    cargo(&format!(
        "clippy -p user-trace-panel --all-targets --target {WASM} -- -D warnings"
    ))
    .run("clippy, wasm32: the panel and its browser tests")?;
    cargo("test --workspace").run("native tests of every crate")?;
    // A real OpenTelemetry program (Python SDK, OTLP/HTTP) into a runtime (xtask/src/otel.rs).
    crate::otel::test()?;
    // The browser tests include end-to-end tests against a real runtime on loopback.
    cargo("build -p user-trace-runtime").run("build the runtime for the end-to-end tests")?;
    python::test(&target_dir().join("debug/user-trace-runtime"))?;
    let runtime = Runtime::start("debug")?;
    cargo(&format!("test -p user-trace-panel --target {WASM}"))
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
            "wasm-bindgen-test-runner",
        )
        .env("CHROMEDRIVER", setup::CHROMEDRIVER)
        // The runner gives the whole suite 20 s by default; it takes about that on two busy
        // cores, so it gets room (a test that hangs still fails).
        .env("WASM_BINDGEN_TEST_TIMEOUT", "180")
        .env("UTP_TEST_RUNTIME", &runtime.addr)
        .run("browser tests in headless Chromium, end-to-end against the runtime")?;
    drop(runtime);
    let runtime = Runtime::start("debug")?;
    crate::examples::check(&runtime.addr)?;
    drop(runtime);

    println!(
        "\nall checks passed in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo xtask test --only python`: the Python producer's tests alone (its environment, the
/// runtime they run against, pytest).
fn python_only() -> Result {
    let start = Instant::now();
    python::setup()?;
    cargo("build -p user-trace-runtime")
        .run("build the runtime for the Python producer's tests")?;
    python::test(&target_dir().join("debug/user-trace-runtime"))?;
    println!(
        "\nthe Python producer's checks passed in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
