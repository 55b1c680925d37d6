use clap::Parser;
use user_trace_runtime::Config;

#[global_allocator]
static ALLOCATOR: user_trace_runtime::allocator::Allocator =
    user_trace_runtime::allocator::ALLOCATOR;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let tuned = user_trace_runtime::allocator::tune();
    let no_huge_pages = user_trace_runtime::allocator::no_huge_pages();
    let config = Config::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    if !tuned {
        tracing::info!(
            "mimalloc {}: large blocks stay in its arenas (MIMALLOC_ARENA_MAX_OBJECT_SIZE is set, or this is not the release allocator.rs is written for)",
            user_trace_runtime::allocator::version()
        );
    }
    if !no_huge_pages {
        tracing::info!("transparent huge pages left as the system has them (MIMALLOC_ALLOW_THP is set, or this is not Linux)");
    }
    if config.recover {
        return recover(&config);
    }
    let running = match user_trace_runtime::start(config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("user-trace-runtime: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let hub = running.hub.clone();
    tokio::spawn(async move {
        let signal = stop_signal().await;
        tracing::info!("{signal}: stopping");
        hub.stop();
    });
    running.wait().await;
    std::process::ExitCode::SUCCESS
}

/// Ctrl-C, or SIGTERM (what systemd, docker and kubernetes send): both stop the same way,
/// with close frames and the store flushed.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupted",
                _ = term.recv() => "terminated",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "interrupted"
}

fn recover(config: &Config) -> std::process::ExitCode {
    let options = user_trace_runtime::hub::sqlite_options(config);
    let session = format!("recovered-{}", std::process::id());
    match user_trace_runtime::storage::sqlite::recover(&options, &session) {
        Ok(r) => {
            println!(
                "recovered {} events and a snapshot of {} events into {}; the damaged file is {}",
                r.events_kept,
                r.snapshot_kept,
                options
                    .dir
                    .join(user_trace_runtime::storage::sqlite::FILE)
                    .display(),
                r.damaged.display()
            );
            if r.lost_count > 0 {
                let events = if r.lost_count == 1 { "event" } else { "events" };
                println!(
                    "lost {} {events} that did not read back intact:",
                    r.lost_count
                );
                for l in &r.lost {
                    println!("  {l}");
                }
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("user-trace-runtime: cannot recover: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
