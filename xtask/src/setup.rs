//! Installing what the jobs need, idempotently: each tool is checked first and installed only
//! when missing or at the wrong version, with a line saying what and why.
//!
//! Nothing is downloaded except through the package registries (crates.io, Debian): trunk is
//! configured (Trunk.toml) to use the installed wasm-bindgen and wasm-opt, offline.

use std::path::{Path, PathBuf};

use crate::util::{cargo, cmd, Result};

/// Must equal the `wasm-bindgen` crate pinned in Cargo.toml.
pub const WASM_BINDGEN: &str = "0.2.130";
/// trunk 0.22 needs a newer rustc than this machine's; 0.21.14 builds with `--locked`.
pub const TRUNK: &str = "0.21.14";
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Firefox ESR (`firefox-esr`).
pub const FIREFOX: &str = "/usr/bin/firefox-esr";
/// geckodriver from crates.io, built with `--locked` (0.37.1 builds with rustc 1.95 in ~8 min
/// on two busy cores).
pub const GECKODRIVER_VERSION: &str = "0.37.1";

pub fn say(what: &str, why: &str) {
    println!("\n[setup] installing {what}: {why}");
}

pub fn wasm_target() -> Result {
    let installed = cmd("rustup", &["target", "list", "--installed"])
        .output()
        .unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    say(
        "the wasm32-unknown-unknown target",
        "the panel compiles to WebAssembly",
    );
    cmd("rustup", &["target", "add", "wasm32-unknown-unknown"]).run("rustup target add")
}

pub fn components() -> Result {
    for (component, probe) in [("rustfmt", "fmt"), ("clippy", "clippy")] {
        if cargo(&format!("{probe} --version")).output().is_none() {
            say(component, "the test command checks formatting and lints");
            cmd("rustup", &["component", "add", component]).run("rustup component add")?;
        }
    }
    Ok(())
}

fn version_of(program: &str) -> Option<String> {
    cmd(program, &["--version"]).output()
}

pub fn wasm_bindgen_cli() -> Result {
    let want = |p: &str| version_of(p).is_some_and(|v| v.contains(WASM_BINDGEN));
    if want("wasm-bindgen") && want("wasm-bindgen-test-runner") {
        return Ok(());
    }
    say(
        &format!("wasm-bindgen-cli {WASM_BINDGEN} (~4 min)"),
        "runs the browser tests and generates the panel's JS glue; it must equal the wasm-bindgen crate",
    );
    // Without --locked: the CLI's own lockfile names a yanked crate.
    cargo(&format!(
        "install wasm-bindgen-cli --version {WASM_BINDGEN}"
    ))
    .run("install wasm-bindgen-cli")
}

pub fn trunk() -> Result {
    if version_of("trunk").is_some_and(|v| v.contains(TRUNK)) {
        return Ok(());
    }
    say(
        &format!("trunk {TRUNK} (~10 min)"),
        "builds and serves the preview page",
    );
    cargo(&format!("install trunk --version {TRUNK} --locked")).run("install trunk")
}

fn apt_install(packages: &[&str], why: &str) -> Result {
    say(&packages.join(" "), why);
    let root = cmd("id", &["-u"]).output().is_some_and(|u| u.trim() == "0");
    let (program, prefix): (&str, &[&str]) = if root {
        ("apt-get", &[])
    } else {
        ("sudo", &["apt-get"])
    };
    let mut update: Vec<&str> = prefix.to_vec();
    update.extend(["update", "-qq"]);
    cmd(program, &update).run("apt-get update")?;
    let mut install: Vec<&str> = prefix.to_vec();
    install.extend(["install", "-y", "-qq"]);
    install.extend(packages);
    let mut c = cmd(program, &install);
    c.command().env("DEBIAN_FRONTEND", "noninteractive");
    c.run("apt-get install").map_err(|e| {
        format!(
            "{e}\n    Install them by hand (as root): apt-get install -y {}",
            packages.join(" ")
        )
    })
}

pub fn chromium() -> Result {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    apt_install(
        &["chromium", "chromium-driver"],
        "the browser tests run the panel in headless Chromium",
    )
}

pub fn firefox() -> Result {
    if Path::new(FIREFOX).exists() {
        return Ok(());
    }
    apt_install(
        &["firefox-esr"],
        "the browser tests and example pages run in headless Firefox too",
    )
}

/// Where geckodriver is: the first `geckodriver` on PATH, else cargo's bin folder (where
/// `cargo install` puts it, on PATH or not).
pub fn geckodriver() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("geckodriver"))
            .find(|p| p.is_file())
    });
    on_path.unwrap_or_else(|| {
        let home = std::env::var_os("CARGO_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
            .unwrap_or_default();
        home.join("bin/geckodriver")
    })
}

pub fn geckodriver_cli() -> Result {
    let path = geckodriver();
    let version = cmd(&path.to_string_lossy(), &["--version"]).output();
    if version.is_some_and(|v| v.contains(GECKODRIVER_VERSION)) {
        return Ok(());
    }
    say(
        &format!("geckodriver {GECKODRIVER_VERSION} (crates.io, ~8 min)"),
        "drives headless Firefox over WebDriver for the browser tests and example pages",
    );
    cargo(&format!(
        "install geckodriver --version {GECKODRIVER_VERSION} --locked"
    ))
    .run("install geckodriver")
}

pub const NATS_SERVER: &str = "/usr/sbin/nats-server";

pub fn nats_server() -> Result {
    if Path::new(NATS_SERVER).exists() || version_of("nats-server").is_some() {
        return Ok(());
    }
    apt_install(
        &["nats-server"],
        "the runtime's tests run two runtimes on one NATS JetStream stream (--nats)",
    )
}

pub fn wasm_opt() -> Result {
    if version_of("wasm-opt").is_some() {
        return Ok(());
    }
    apt_install(
        &["binaryen"],
        "trunk shrinks the release wasm with wasm-opt",
    )
}

/// Python 3 with its `venv` module: Debian ships `venv` and `ensurepip` apart, in
/// `python3-venv`.
pub fn python_venv() -> Result {
    let probe = || {
        cmd("python3", &["-c", "import venv, ensurepip"])
            .output()
            .is_some()
    };
    if probe() {
        return Ok(());
    }
    apt_install(
        &["python3", "python3-venv"],
        "the Python producer's tests run in a virtual environment (python3 -m venv)",
    )?;
    if probe() {
        Ok(())
    } else {
        Err("python3 still cannot make a virtual environment (import venv, ensurepip)".into())
    }
}

/// What the test command needs.
pub fn for_tests() -> Result {
    wasm_target()?;
    components()?;
    wasm_bindgen_cli()?;
    chromium()?;
    firefox()?;
    geckodriver_cli()?;
    nats_server()?;
    crate::python::setup()
}

/// What the example pages' check needs (`cargo xtask test --only examples`).
pub fn for_examples() -> Result {
    wasm_target()?;
    wasm_bindgen_cli()?;
    chromium()?;
    firefox()?;
    geckodriver_cli()
}

/// What the preview needs.
pub fn for_preview() -> Result {
    wasm_target()?;
    wasm_bindgen_cli()?;
    wasm_opt()?;
    trunk()
}
