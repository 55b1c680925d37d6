//! `cargo xtask preview`: the panel served by trunk, against the demo runtime.

use crate::setup;
use crate::util::{cmd, Result};

pub fn run(args: &[String]) -> Result {
    let mut port = "8080".to_owned();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => port = it.next().cloned().ok_or("--port needs a number")?,
            other => return Err(format!("unknown option `{other}` (see `cargo xtask`)")),
        }
    }
    setup::for_preview()?;
    println!("\nThe preview will be at http://127.0.0.1:{port}/ once trunk has built it.");
    println!("Ctrl-C stops it.");
    let mut trunk = cmd(
        "trunk",
        &[
            "serve",
            "--release",
            "--port",
            &port,
            "--address",
            "127.0.0.1",
        ],
    )
    .spawn("build the panel and serve the preview")?;
    let status = trunk.wait().map_err(|e| format!("trunk: {e}"))?;
    if !status.success() {
        return Err(format!("trunk serve stopped: {status}"));
    }
    Ok(())
}
