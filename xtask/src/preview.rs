//! `cargo xtask preview`: the runtime, the demo streaming into it, and the panel served by
//! trunk with the runtime's panel path proxied, so the page connects to its own origin.

use std::process::Child;

use crate::setup;
use crate::util::{cargo, cmd, root, target_dir, Result};

struct Children(Vec<(String, Child)>);

impl Drop for Children {
    fn drop(&mut self) {
        for (name, child) in &mut self.0 {
            if child.try_wait().ok().flatten().is_none() {
                println!("stopping {name}");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

pub fn run(args: &[String]) -> Result {
    let mut port = "8080".to_owned();
    let mut runtime_port = "4700".to_owned();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => port = it.next().cloned().ok_or("--port needs a number")?,
            "--runtime-port" => {
                runtime_port = it.next().cloned().ok_or("--runtime-port needs a number")?
            }
            other => return Err(format!("unknown option `{other}` (see `cargo xtask`)")),
        }
    }
    setup::for_preview()?;
    cargo("build -p user-trace-runtime -p user-trace-demo")
        .run("build the runtime and the demo")?;
    let bin = target_dir().join("debug");
    let runtime_addr = format!("127.0.0.1:{runtime_port}");
    let origins = format!("http://127.0.0.1:{port},http://localhost:{port}");
    let mut children = Children(Vec::new());
    let runtime = cmd(
        &bin.join("user-trace-runtime").to_string_lossy(),
        // Durable, as by default, in the checkout's target directory: a restarted preview
        // shows what was streamed before, and no other runtime's data is touched.
        &[
            "--listen",
            &runtime_addr,
            "--allow-origin",
            &origins,
            "--data",
            &root().join("target/preview-data").to_string_lossy(),
        ],
    )
    .spawn("start the runtime")?;
    children.0.push(("the runtime".into(), runtime));
    let ingest = format!("ws://{runtime_addr}/v1/ingest");
    let demo = cmd(
        &bin.join("user-trace-demo").to_string_lossy(),
        &["--url", &ingest, "run"],
    )
    .spawn("stream the demo's traces into it")?;
    children.0.push(("the demo".into(), demo));

    println!("\nThe preview will be at http://127.0.0.1:{port}/ once trunk has built it.");
    println!("Ctrl-C stops the preview, the runtime and the demo.");
    let backend = format!("ws://{runtime_addr}/v1/panel");
    let trunk = cmd(
        "trunk",
        &[
            "serve",
            "--release",
            "--port",
            &port,
            "--address",
            "127.0.0.1",
            "--proxy-backend",
            &backend,
            "--proxy-ws",
        ],
    )
    .spawn("build the panel and serve the preview")?;
    children.0.push(("trunk".into(), trunk));
    let status = children
        .0
        .last_mut()
        .map(|(_, c)| c.wait())
        .transpose()
        .map_err(|e| format!("trunk: {e}"))?;
    match status {
        Some(s) if !s.success() => Err(format!("trunk serve stopped: {s}")),
        _ => Ok(()),
    }
}
