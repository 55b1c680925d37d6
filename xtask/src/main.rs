//! `cargo xtask <job>`: the project's set-up-and-go commands.
//!
//! - `preview`: installs what is missing, builds the panel and serves the preview against the
//!   demo runtime; prints the URL; Ctrl-C stops everything.
//! - `test`: installs what is missing, then runs every check CI runs (see `test.rs`);
//!   `test --only python`: the Python producer's tests alone (`python.rs`); `test --only otel`:
//!   the OpenTelemetry step alone (`otel.rs`); `test --only examples`: the example pages
//!   (`examples.rs`) in Chromium and Firefox.
//! - `package`: the npm package of the panel and its tarball (`package.rs`).
//! - `bench`: the browser benchmark (`bench.rs`); rewrites its table in BENCHMARKS.md.
//! - `schema`: rewrites the protocol's checked-in JSON Schemas from the types.
//!
//! Every install is idempotent: a tool that is present at the right version is not touched.

mod bench;
mod browser;
mod examples;
mod otel;
mod package;
mod preview;
mod python;
mod runtime;
mod setup;
mod test;
mod util;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <preview|test|bench|package|schema>

  preview [--port N]   build the panel and serve the preview against the demo runtime
  test                 fmt, clippy (native + wasm32), native tests, Python producer tests,
                       browser tests, end-to-end tests
  test --only python   the Python producer's tests alone (venv in target/, pytest, the runtime)
  test --only otel     the OpenTelemetry step alone (a real Python program, OTLP/HTTP)
  test --only examples the example pages and the npm package in Chromium and Firefox
  bench [--secs N]     browser benchmark of the release panel; rewrites its table in BENCHMARKS.md
  package [--out DIR]  build the npm package (release) and its tarball (npm pack)
  schema               rewrite crates/protocol/schema/*.json from the protocol types";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("preview") => preview::run(&args[1..]),
        Some("test") => test::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("package") => package::run(&args[1..]),
        Some("schema") => util::cargo("test -p user-trace-protocol --test schema")
            .env("UPDATE_SCHEMA", "1")
            .run("rewrite the protocol schema"),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: {e}");
            ExitCode::FAILURE
        }
    }
}
