//! Connections: the accept loop and the limits a front end puts on slow clients.
//!
//! `axum::serve` gives no header timeout, so a client that opens a connection and trickles
//! its header block (or sends nothing) would hold it for ever. Here each HTTP/1.1 connection
//! has hyper's header-read timeout, and [`body_timeout`] bounds the pause between two pieces
//! of a request body, as nginx's `client_header_timeout` and `client_body_timeout` do in
//! front of production.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// The request-body limit: a body that sends nothing for `timeout` fails with a
/// [`tower_http::timeout::TimeoutError`], which handlers answer as a client error.
pub fn body_timeout(timeout: Duration) -> RequestBodyTimeoutLayer {
    RequestBodyTimeoutLayer::new(timeout)
}

/// Why reading a request body failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFailure {
    /// The body is longer than the reader allowed.
    TooLarge,
    /// The client paused longer than the body timeout.
    TimedOut,
    /// Anything else: the client went away, or sent a broken chunked encoding.
    Broken,
}

/// Classifies a request-body error by walking its causes.
pub fn body_failure(e: &(dyn std::error::Error + 'static)) -> BodyFailure {
    let mut cause = Some(e);
    while let Some(err) = cause {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return BodyFailure::TimedOut;
        }
        if err.is::<http_body_util::LengthLimitError>() {
            return BodyFailure::TooLarge;
        }
        cause = err.source();
    }
    BodyFailure::Broken
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish. A connection whose header block is not complete within `header_timeout` is closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    if !is_connection_error(&e) {
                        tracing::error!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Errors of one connection (the client went away before `accept` returned).
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    )
}
