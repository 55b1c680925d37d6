//! The Python producer (`python/`): its tests run with pytest in a virtual environment of
//! their own, `target/python-venv`, against the runtime binary built for the end-to-end tests.
//!
//! Every install is idempotent and said: the environment is made once; pytest and
//! pytest-timeout are installed from PyPI at the pinned versions when they differ; the package
//! (`pip install ./python`, which brings `websockets` from PyPI) is installed again only when
//! its files changed since the last install (a stamp in the environment).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use crate::setup;
use crate::util::{cmd, root, Result};

/// Test tools, pinned: pytest 8.4 still runs on Python 3.9, the package's oldest.
pub const PYTEST: &str = "8.4.2";
pub const PYTEST_TIMEOUT: &str = "2.4.0";

fn venv() -> PathBuf {
    root().join("target/python-venv")
}

fn python() -> PathBuf {
    venv().join("bin/python")
}

fn python_cmd(args: &[&str]) -> crate::util::Cmd {
    cmd(&python().to_string_lossy(), args)
}

/// A hash of the package's files: a change means the installed copy is stale.
fn package_stamp() -> Result<String> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if path.is_dir() {
                if name.as_deref() != Some("__pycache__") {
                    walk(&path, files)?;
                }
            } else {
                files.push(path);
            }
        }
        Ok(())
    }
    let dir = root().join("python");
    let mut files = vec![dir.join("pyproject.toml"), dir.join("README.md")];
    walk(&dir.join("user_trace"), &mut files)?;
    files.sort();
    let mut h = DefaultHasher::new();
    for f in &files {
        f.strip_prefix(&dir).unwrap_or(f).hash(&mut h);
        std::fs::read(f)
            .map_err(|e| format!("{}: {e}", f.display()))?
            .hash(&mut h);
    }
    Ok(format!("{:016x}", h.finish()))
}

/// Makes the environment and installs what is missing or stale into it.
pub fn setup() -> Result {
    setup::python_venv()?;
    let venv = venv();
    if !python().exists() {
        setup::say(
            &format!("a Python virtual environment in {}", venv.display()),
            "the Python producer's tests run in an environment of their own",
        );
        cmd(
            "python3",
            &["-m", "venv", "--clear", &venv.to_string_lossy()],
        )
        .run("python3 -m venv")?;
    }
    let have = python_cmd(&[
        "-c",
        "import importlib.metadata as m; print(m.version('pytest'), m.version('pytest-timeout'))",
    ])
    .output()
    .unwrap_or_default();
    let want = format!("{PYTEST} {PYTEST_TIMEOUT}");
    if have.trim() != want {
        setup::say(
            &format!("pytest {PYTEST} and pytest-timeout {PYTEST_TIMEOUT} from PyPI into target/python-venv"),
            "they run the Python producer's tests, each with a time limit",
        );
        python_cmd(&[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("pytest=={PYTEST}"),
            &format!("pytest-timeout=={PYTEST_TIMEOUT}"),
        ])
        .run("pip install pytest pytest-timeout")?;
    }
    let stamp_file = venv.join("user-trace-package.stamp");
    let stamp = package_stamp()?;
    if std::fs::read_to_string(&stamp_file).ok().as_deref() != Some(stamp.as_str()) {
        setup::say(
            "the Python package user-trace from ./python, with websockets from PyPI, into target/python-venv",
            "the tests run against the package as `pip install ./python` installs it",
        );
        python_cmd(&[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "./python",
        ])
        .run("pip install ./python")?;
        std::fs::write(&stamp_file, stamp).map_err(|e| format!("{}: {e}", stamp_file.display()))?;
    }
    Ok(())
}

/// Runs the package's pytest suite against `runtime` (a built `user-trace-runtime`).
pub fn test(runtime: &Path) -> Result {
    if !runtime.exists() {
        return Err(format!("no runtime binary at {}", runtime.display()));
    }
    // From the repository's root, so that `user_trace` is imported as installed, not from
    // the source folder; no bytecode or cache files are left in python/.
    python_cmd(&[
        "-m",
        "pytest",
        "python/tests",
        "-q",
        "-p",
        "no:cacheprovider",
    ])
    .env("USER_TRACE_RUNTIME", &runtime.to_string_lossy())
    .env("PYTHONDONTWRITEBYTECODE", "1")
    .run("the Python producer's tests (pytest) against the runtime")
}
