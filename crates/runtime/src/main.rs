use clap::Parser;
use user_trace_runtime::Config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    user_trace_runtime::allocator::tune();
    let config = Config::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if config.log_json {
        logs.json().init();
    } else {
        logs.init();
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
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("interrupted: stopping");
        hub.stop();
    });
    running.wait().await;
    std::process::ExitCode::SUCCESS
}
