//! `uploadcare-emulator`: loads the configuration, opens the store, serves until SIGTERM/Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use tokio::net::TcpListener;
use uploadcare_emulator::config::{Args, Config, LogFormat};
use uploadcare_emulator::{serve, AppState};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("uploadcare-emulator: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args = Args::parse();
    let file_text = match &args.config {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let config = Config::resolve(args, file_text.as_deref())?;
    init_tracing(config.log_format);

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = AppState::open(config.clone())
        .await
        .map_err(|e| e.to_string())?;

    println!("uploadcare-emulator listening on http://{addr}");
    println!(
        "  store: {}",
        uploadcare_emulator::config::redact_url(&config.database_url)
    );
    for p in &config.projects {
        println!(
            "  project {:?}: public key {} secret key {}",
            p.name, p.pub_key, p.secret_key
        );
    }
    serve(state, listener, shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
