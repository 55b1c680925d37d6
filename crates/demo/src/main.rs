//! `user-trace-demo`: streams realistic user traces into a runtime until stopped (the
//! preview's default data), records them to JSON Lines, and replays or sends such files.

mod replay;
mod scenarios;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use scenarios::Pace;
use user_trace_sdk::{Tracer, TracerOptions};

#[derive(Parser)]
#[command(name = "user-trace-demo", version)]
struct Cli {
    /// The runtime's ingest URL.
    #[arg(
        long,
        env = "UTP_INGEST_URL",
        default_value = "ws://127.0.0.1:4700/v1/ingest",
        global = true
    )]
    url: String,
    /// Bearer token, when the runtime requires one.
    #[arg(long, env = "UTP_TOKEN", global = true, hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Stream the scenarios in a loop until Ctrl-C (the default).
    Run {
        /// Play speed: 1 is real time, 10 ten times faster.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Play every scenario once, then exit.
        #[arg(long)]
        once: bool,
    },
    /// Play every scenario once into a JSON Lines file of events instead of a runtime.
    Record { file: PathBuf },
    /// Send a JSON Lines file of events to a running runtime, with its original timing.
    Replay {
        file: PathBuf,
        /// Play speed: 1 is the original timing; 0 sends as fast as possible.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
        /// Give every id a fresh suffix, so that a file can be replayed more than once.
        #[arg(long)]
        fresh: bool,
    },
    /// Send a JSON Lines file of events as fast as possible (`replay --speed 0 --fresh`).
    Send { file: PathBuf },
}

fn options(name: &str, token: &Option<String>) -> TracerOptions {
    TracerOptions {
        process: Some(name.into()),
        token: token.clone(),
        ..TracerOptions::default()
    }
}

async fn play_all(make: scenarios::MakeTracer<'_>, pace: Pace, run: u64) {
    let questions = [
        "How do I compile Rust to WebAssembly?",
        "What does wasm-bindgen do?",
        "Why is fine-grained reactivity fast?",
    ];
    let q = questions[run as usize % questions.len()];
    tokio::join!(
        scenarios::agent_answer(make, pace, q),
        scenarios::concurrent_pipeline(make, pace, run),
    );
    scenarios::conversation(make, pace).await;
    scenarios::markdown_report(make, pace).await;
    scenarios::failing_call(make, pace).await;
    if run.is_multiple_of(3) {
        scenarios::large_payload(make, 5_000).await;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run {
        speed: 1.0,
        once: false,
    });
    let result = match command {
        Command::Run { speed, once } => {
            let url = cli.url.clone();
            let token = cli.token.clone();
            let make = move |name: &str| Tracer::connect_lazy(&url, options(name, &token));
            let probe = make("demo");
            println!(
                "user-trace-demo: streaming to {} as {} (Ctrl-C stops)",
                cli.url,
                probe.process()
            );
            let mut run = 0;
            loop {
                tokio::select! {
                    _ = play_all(&make, Pace(speed), run) => {}
                    _ = tokio::signal::ctrl_c() => break,
                }
                run += 1;
                if once {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs_f64(2.0 / speed.max(0.01))).await;
            }
            probe.close().await;
            Ok(())
        }
        Command::Record { file } => record(file).await,
        Command::Replay { file, speed, fresh } => {
            replay::run(&cli.url, cli.token, &file, speed, fresh).await
        }
        Command::Send { file } => replay::run(&cli.url, cli.token, &file, 0.0, true).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("user-trace-demo: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn record(file: PathBuf) -> Result<(), String> {
    std::fs::File::create(&file).map_err(|e| format!("cannot create {}: {e}", file.display()))?;
    let tracers = std::sync::Mutex::new(Vec::new());
    let make = |name: &str| {
        let t = Tracer::record(&file, options(name, &None)).unwrap_or_else(|e| panic!("{e}"));
        if let Ok(mut list) = tracers.lock() {
            list.push(t.clone());
        }
        t
    };
    play_all(&make, Pace(0.0), 0).await;
    let list = tracers.lock().map(|l| l.clone()).unwrap_or_default();
    for t in list {
        t.flush().await;
    }
    println!("recorded to {}", file.display());
    Ok(())
}
