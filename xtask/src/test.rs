//! `cargo xtask test`: everything CI checks, in order, stopping at the first failure.

use std::time::Instant;

use crate::browser::Kind;
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
        ["--only", "examples"] => return examples_only(),
        _ => {
            return Err(format!(
                "`test` takes no arguments but `--only python|otel|examples` (got `{}`)",
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
    cargo(&format!(
        "clippy -p user-trace-panel --lib --no-default-features --target {WASM} -- -D warnings"
    ))
    .run("clippy, wasm32: the panel as JavaScript hosts get it (without the Leptos component)")?;
    cargo("test --workspace").run("native tests of every crate")?;
    // A real OpenTelemetry program (Python SDK, OTLP/HTTP) into a runtime (xtask/src/otel.rs).
    crate::otel::test()?;
    // The browser tests include end-to-end tests against a real runtime on loopback.
    cargo("build -p user-trace-runtime").run("build the runtime for the end-to-end tests")?;
    python::test(&target_dir().join("debug/user-trace-runtime"))?;
    // One build, run in each browser: the second run only runs. Each browser gets a fresh
    // runtime (the end-to-end tests find their traces on the panel's first screen) at the same
    // address, which the tests are built with.
    let mut runtime = Runtime::start("debug")?;
    let addr = runtime.addr.clone();
    let geckodriver = setup::geckodriver();
    for (kind, driver_var, driver) in [
        (
            Kind::Chromium,
            "CHROMEDRIVER",
            setup::CHROMEDRIVER.to_owned(),
        ),
        (
            Kind::Firefox,
            "GECKODRIVER",
            geckodriver.to_string_lossy().into_owned(),
        ),
    ] {
        if kind != Kind::Chromium {
            drop(runtime);
            runtime = Runtime::start_on("debug", addr.clone(), &[])?;
        }
        cargo(&format!("test -p user-trace-panel --target {WASM}"))
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .env(driver_var, &driver)
            // The runner gives the whole suite 20 s by default; it takes about that on two busy
            // cores, so it gets room (a test that hangs still fails).
            .env("WASM_BINDGEN_TEST_TIMEOUT", "180")
            .env("UTP_TEST_RUNTIME", &addr)
            .run(&format!(
                "browser tests in headless {}, end-to-end against the runtime",
                kind.name()
            ))?;
    }
    drop(runtime);
    let runtime = Runtime::start("debug")?;
    crate::examples::check(&runtime.addr)?;
    drop(runtime);
    crate::package::check()?;

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

/// `cargo xtask test --only examples`: the example pages and the npm package in both browsers.
fn examples_only() -> Result {
    let start = Instant::now();
    setup::for_examples()?;
    cargo("build -p user-trace-runtime").run("build the runtime the example pages connect to")?;
    let runtime = Runtime::start("debug")?;
    crate::examples::check(&runtime.addr)?;
    crate::package::check()?;
    println!(
        "\nthe example pages and the npm package passed in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
