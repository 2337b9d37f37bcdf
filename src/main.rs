//! `uploadcare-emulator`: loads the configuration, opens the store, serves until SIGTERM/Ctrl-C.

use std::process::ExitCode;

use clap::Parser;
use tokio::net::TcpListener;
use uploadcare_emulator::config::{Apis, Args, Config, LogFormat, DEMO_PUB_KEY, DEMO_SECRET_KEY};
use uploadcare_emulator::{serve, serve_apis, AppState};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    let check_ready = args.check_ready;
    let config = Config::resolve(args, file_text.as_deref())?;
    if check_ready {
        return probe_ready(config.listen).await;
    }
    init_tracing(config.log_format);

    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut extra = Vec::new();
    for (apis, at) in &config.api_listeners {
        let l = TcpListener::bind(at)
            .await
            .map_err(|e| format!("cannot listen on {at}: {e}"))?;
        extra.push((*apis, l));
    }
    let state = AppState::open(config.clone()).await?;

    let kept = &config.persistence;
    // The banner is built whole and written once; a closed stdout (a supervisor that read
    // the first line and went away) must never take the server down.
    let mut banner = format!(
        "uploadcare-emulator listening on http://{addr}\n  store: {}\n  blobs: {}\n",
        uploadcare_emulator::config::redact_url(&kept.database_url),
        match &kept.blob_store {
            Some(url) => url.to_string(),
            None => format!("{} (the data directory)", kept.data_dir.display()),
        }
    );
    for (apis, l) in &extra {
        if let Ok(a) = l.local_addr() {
            let name = match apis {
                Apis::All => "all APIs",
                Apis::Upload => "Upload API",
                Apis::Rest => "REST API",
                Apis::Cdn => "CDN",
            };
            banner.push_str(&format!("  {name} only on http://{a}\n"));
        }
    }
    for p in &config.projects {
        // Only the demo project's well-known secret is printed; configured secrets are
        // the user's own and never leave the process.
        let secret = if p.pub_key == DEMO_PUB_KEY && p.secret_key == DEMO_SECRET_KEY {
            p.secret_key.as_str()
        } else {
            "(as configured)"
        };
        banner.push_str(&format!(
            "  project {:?}: public key {} secret key {}\n",
            p.name, p.pub_key, secret
        ));
    }
    let shutdown = shutdown_signal();
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(banner.as_bytes());
        let _ = out.flush();
    }
    // One shutdown signal for every listener.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let wait = move || {
        let mut rx = stopped.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let mut servers = tokio::task::JoinSet::new();
    for (apis, l) in extra {
        servers.spawn(serve_apis(state.clone(), l, apis, wait()));
    }
    let leaving = state.clone();
    servers.spawn(serve(state, listener, wait()));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    while let Some(done) = servers.join_next().await {
        done.map_err(|e| format!("server task failed: {e}"))?
            .map_err(|e| format!("server error: {e}"))?;
    }
    // Other replicas take over this one's unfinished work at once (docs/replicas.md).
    if let Err(e) = leaving.store.forget_replica(&leaving.replica.id).await {
        tracing::warn!(error = %e, "could not leave the replicas table");
    }
    Ok(())
}

/// `--check-ready`: one `GET /_emulator/ready` over a raw socket (the image has no curl).
async fn probe_ready(listen: std::net::SocketAddr) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(
                b"GET /_emulator/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<bool, std::io::Error>(head.starts_with(b"HTTP/1.1 200"))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), probe).await {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => Err(format!("not ready at {addr}")),
        Ok(Err(e)) => Err(format!("cannot reach {addr}: {e}")),
        Err(_) => Err(format!("no answer from {addr}")),
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Registers the SIGTERM handler now, so that a SIGTERM arriving as soon as the banner is out
/// already shuts down gracefully, and returns what resolves on SIGTERM or Ctrl-C.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = ctrl_c => {},
            () = term => {},
        }
    }
}
