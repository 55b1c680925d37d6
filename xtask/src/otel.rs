//! The OpenTelemetry step of the test command: a real program instrumented with the
//! OpenTelemetry Python SDK (`tests/otel/genai_program.py`) exports to a runtime over OTLP/HTTP
//! and a panel subscriber checks the tree (`crates/runtime/tests/otlp.rs`, the ignored test
//! `a_real_instrumented_python_program_shows_as_its_tree`).
//!
//! Installs, idempotently, into its own virtual environment `target/otel-venv` (made with the
//! machine's `python3 -m venv`, from PyPI): `opentelemetry-sdk` and
//! `opentelemetry-exporter-otlp-proto-http`, at the versions below. An environment that
//! already imports them at those versions is not touched.

use std::path::PathBuf;

use crate::util::{cargo, cmd, root, Result};

/// The SDK and exporter release the test was written against (they are released together).
pub const OTEL_PYTHON: &str = "1.45.2";

fn venv() -> PathBuf {
    root().join("target").join("otel-venv")
}

fn python() -> PathBuf {
    venv().join("bin").join("python")
}

/// The venv's versions of the two packages, when both import.
fn installed() -> Option<String> {
    let probe = "import importlib.metadata as m, opentelemetry.sdk.trace, \
                 opentelemetry.exporter.otlp.proto.http.trace_exporter; \
                 print(m.version('opentelemetry-sdk'), m.version('opentelemetry-exporter-otlp-proto-http'))";
    cmd(&python().to_string_lossy(), &["-c", probe]).output()
}

/// Makes `target/otel-venv` with the SDK and the OTLP/HTTP exporter, unless it has them.
pub fn setup() -> Result {
    let want = format!("{OTEL_PYTHON} {OTEL_PYTHON}");
    if installed().is_some_and(|v| v.trim() == want) {
        return Ok(());
    }
    println!(
        "\n[setup] installing opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http \
         {OTEL_PYTHON} into target/otel-venv: the test command runs a real instrumented Python \
         program against the runtime"
    );
    if !python().exists() {
        cmd("python3", &["-m", "venv", &venv().to_string_lossy()]).run(
            "make the virtual environment (python3 -m venv; Debian: apt-get install python3-venv)",
        )?;
    }
    let sdk = format!("opentelemetry-sdk=={OTEL_PYTHON}");
    let exporter = format!("opentelemetry-exporter-otlp-proto-http=={OTEL_PYTHON}");
    cmd(
        &python().to_string_lossy(),
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &sdk,
            &exporter,
        ],
    )
    .run("pip install the OpenTelemetry SDK and OTLP/HTTP exporter")?;
    match installed() {
        Some(v) if v.trim() == want => Ok(()),
        other => Err(format!(
            "target/otel-venv does not import the OpenTelemetry SDK {OTEL_PYTHON} after pip install (got {other:?})"
        )),
    }
}

/// The test's name in `crates/runtime/tests/otlp.rs`.
const TEST: &str = "a_real_instrumented_python_program_shows_as_its_tree";

/// Sets up and runs the test; fails unless it ran and passed (a renamed test that no longer
/// matches would otherwise pass as "0 passed").
pub fn test() -> Result {
    setup()?;
    let what = "a real Python program instrumented with OpenTelemetry, exporting to the runtime over OTLP/HTTP";
    let mut c = cargo(&format!(
        "test -p user-trace-runtime --test otlp {TEST} -- --ignored --exact"
    ))
    .env("UTP_OTEL_PYTHON", &python().to_string_lossy());
    println!("\n==> {what}\n    $ UTP_OTEL_PYTHON={} cargo test -p user-trace-runtime --test otlp {TEST} -- --ignored --exact", python().display());
    let out = c
        .command()
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    if !out.status.success() || !stdout.contains("test result: ok. 1 passed") {
        return Err(format!("step failed: {what} ({})", out.status));
    }
    Ok(())
}
