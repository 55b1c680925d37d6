//! The npm package of the panel (`npm/`): `cargo xtask package` builds it; the test command
//! packs it, installs the tarball into a scratch app, type-checks and bundles that app, and
//! loads it in headless Chromium and Firefox.
//!
//! The package holds wasm-bindgen's output twice, for bundlers (`bundler/`, the default
//! export) and for a plain `<script type="module">` (`web/`, `user-trace-panel/web`), the
//! hand-written declarations of `npm/` and the stylesheet.

use std::path::{Path, PathBuf};

use crate::browser::{serve, Browser, Kind};
use crate::util::{cargo, cmd, root, target_dir, Result};

/// The package's files beside wasm-bindgen's output.
const FILES: [&str; 4] = ["package.json", "README.md", "index.d.ts", "web.d.ts"];

/// The scratch app's files (`npm/test-app/`).
const APP_FILES: [&str; 8] = [
    "package.json",
    "tsconfig.json",
    "assets.d.ts",
    "app.ts",
    "web.ts",
    "build.mjs",
    "index.html",
    "web.html",
];

fn io(what: &Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", what.display())
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to).map(drop).map_err(io(from))
}

/// `cargo xtask package [--out DIR]`: the release package in DIR (default
/// `<target>/npm-package`) and its tarball (`npm pack`) beside it.
pub fn run(args: &[String]) -> Result {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = match args.as_slice() {
        [] => target_dir().join("npm-package"),
        ["--out", dir] => PathBuf::from(dir),
        _ => {
            return Err(format!(
                "`package` takes `--out DIR` or nothing (got `{}`)",
                args.join(" ")
            ))
        }
    };
    crate::setup::wasm_target()?;
    crate::setup::wasm_bindgen_cli()?;
    build(true, &out)?;
    // Shrunk as the benchmark's release panel is (binaryen from npm, bench/package.json).
    crate::bench::peers()?;
    for target in ["bundler", "web"] {
        crate::bench::shrink(&out.join(target).join("user_trace_panel_bg.wasm"))?;
    }
    let tarball = pack(&out, out.parent().unwrap_or(&out))?;
    println!(
        "\nthe npm package is in {}\n  its tarball: {}\n  install it with: npm install {}",
        out.display(),
        tarball.display(),
        tarball.display()
    );
    Ok(())
}

/// Builds the package into `out` (emptied first) from the panel's wasm of the given profile.
pub fn build(release: bool, out: &Path) -> Result {
    let (flag, profile) = if release {
        ("--release ", "release")
    } else {
        ("", "debug")
    };
    let manifest = std::fs::read_to_string(root().join("npm/package.json"))
        .map_err(io(&root().join("npm/package.json")))?;
    let version = env!("CARGO_PKG_VERSION");
    if !manifest.contains(&format!("\"version\": \"{version}\"")) {
        return Err(format!(
            "npm/package.json must have the workspace's version, \"version\": \"{version}\""
        ));
    }
    cargo(&format!(
        "build {flag}-p user-trace-panel --lib --no-default-features --target wasm32-unknown-unknown"
    ))
    .run(&format!("build the panel for the npm package ({profile})"))?;
    let wasm = target_dir().join(format!(
        "wasm32-unknown-unknown/{profile}/user_trace_panel.wasm"
    ));
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(io(out))?;
    }
    for target in ["bundler", "web"] {
        cmd(
            "wasm-bindgen",
            &[
                "--target",
                target,
                "--out-dir",
                &out.join(target).to_string_lossy(),
                &wasm.to_string_lossy(),
            ],
        )
        .run(&format!(
            "wasm-bindgen --target {target} for the npm package"
        ))?;
    }
    for file in FILES {
        copy(&root().join("npm").join(file), &out.join(file))?;
    }
    copy(&root().join("style/panel.css"), &out.join("panel.css"))
}

/// `npm pack`s the package in `dir` into `into`; returns the tarball's path.
fn pack(dir: &Path, into: &Path) -> Result<PathBuf> {
    let mut npm = cmd(
        "npm",
        &[
            "pack",
            "--silent",
            "--pack-destination",
            &into.to_string_lossy(),
        ],
    );
    npm.command().current_dir(dir);
    let out = npm
        .output()
        .ok_or_else(|| format!("npm pack failed in {}", dir.display()))?;
    let file = out
        .lines()
        .last()
        .map(str::trim)
        .filter(|f| f.ends_with(".tgz"))
        .ok_or_else(|| format!("npm pack named no tarball: {out}"))?;
    println!("    packed {file}");
    Ok(into.join(file))
}

/// What the test command checks of the package (see the module's doc).
pub fn check() -> Result {
    let pkg = target_dir().join("npm-package-test");
    build(false, &pkg)?;
    let app = target_dir().join("npm-app");
    std::fs::create_dir_all(&app).map_err(io(&app))?;
    let tarball = pack(&pkg, &app)?;
    std::fs::rename(&tarball, app.join("user-trace-panel.tgz")).map_err(io(&tarball))?;
    for file in APP_FILES {
        copy(&root().join("npm/test-app").join(file), &app.join(file))?;
    }
    // The tarball changes every build while its name does not: install it afresh.
    let installed = app.join("node_modules/user-trace-panel");
    if installed.exists() {
        std::fs::remove_dir_all(&installed).map_err(io(&installed))?;
    }
    let in_app = |program: &str, args: &[&str]| {
        let mut c = cmd(program, args);
        c.command().current_dir(&app);
        c
    };
    in_app(
        "npm",
        &["install", "--no-audit", "--no-fund", "--no-package-lock"],
    )
    .run("install the packed package (and esbuild, typescript from npm) into a scratch app")?;
    in_app("node_modules/.bin/tsc", &["--noEmit", "-p", "."])
        .run("type-check the app against the package's declarations (tsc --noEmit)")?;
    in_app("node", &["build.mjs"]).run("bundle the app with esbuild")?;

    let site = serve(vec![("/".into(), app.clone())])?;
    for kind in Kind::ALL {
        let name = kind.name();
        println!("\n==> the bundled app in headless {name} (http://{site}/)");
        let browser = Browser::start(kind)?;
        for (page, script) in [("index.html", BUNDLED), ("web.html", WEB)] {
            browser.open(&format!("http://{site}/{page}"))?;
            let result = browser
                .run(&format!("{}{script}", crate::examples::PRELUDE))
                .map_err(|e| format!("the npm package's {page} in {name}: {e}"))?;
            if result != "ok" {
                return Err(format!("the npm package's {page} in {name}: {result}"));
            }
            println!("    {page}: ok");
        }
    }
    Ok(())
}

/// The bundler build: mounted with the package's stylesheet, pushed events shown, disposed.
const BUNDLED: &str = r##"
(async () => {
  const panel = document.getElementById("panel");
  await until("the pushed trace", () => text(".utp-label", panel) === "Bundled app");
  await until("the appended text", () => text(".utp-text", panel) === "from npm, typed");
  if (document.getElementById("utp-styles")) throw new Error("styles: false still added the stylesheet");
  const section = panel.querySelector(".utp-panel");
  if (section.dataset.theme !== "dark") throw new Error("the theme option was ignored");
  // panel.css (bundled into app.css) styles the panel: it sets a dark panel's colour scheme.
  if (getComputedStyle(section).colorScheme !== "dark") throw new Error("the package's panel.css did not apply");
  if (!text(".utp-items", panel)?.includes("42")) throw new Error("no items table");
  window.panel.push([{ id: "e5", process: "p", ts: 5, op: "span_create", trace: "run", span: "s3", kind: "text", content: "pushed later" }]);
  await until("a later push", () => all(".utp-text", panel).some((t) => t.textContent === "pushed later"));
  window.panel.dispose();
  await until("dispose", () => !panel.querySelector(".utp-panel"));
  done("ok");
})().catch((e) => done("fail: " + e.message));
"##;

/// The `--target web` build (`user-trace-panel/web`) and the custom element.
const WEB: &str = r##"
(async () => {
  const panel = document.getElementById("panel");
  await until("the pushed trace", () => text(".utp-label", panel) === "Web target");
  if (!document.getElementById("utp-styles")) throw new Error("mount did not add the stylesheet");
  const el = document.querySelector("user-trace-panel");
  await until("the custom element", () => text(".utp-label", el) === "From the element");
  if (el.querySelector(".utp-panel").dataset.theme !== "dark") throw new Error("the theme attribute was ignored");
  if (getComputedStyle(el.querySelector(".utp-panel")).colorScheme !== "dark") throw new Error("the element is not styled");
  done("ok");
})().catch((e) => done("fail: " + e.message));
"##;
