//! `insiders serve`: a read-only web server over the membership history (SQLite or
//! PostgreSQL): a JSON API under `/api/` and a server-rendered dashboard at `/`.
//!
//! - `GET /api/health`, `GET /api/runs`, `GET /api/runs/{as_of}`,
//!   `GET /api/runs/{as_of}/insiders` (JSON, or CSV with `Accept: text/csv`),
//!   `GET /api/customers/{id}`; `GET /` (the dashboard, `?customer=ID` looks one up) and
//!   `GET /runs/{as_of}/report` (that run's report.html).
//! - Every answer is read in one snapshot of the database, so a run being recorded is seen
//!   whole or not at all. Database work runs on blocking threads over a small pool of
//!   connections; a connection that fails is dropped and the request answers 503, and the
//!   next request opens a new one, so the server recovers by itself when the database is back.
//! - With a token, every request without `Authorization: Bearer TOKEN` answers 401. Bad input
//!   answers 400, unknown runs and customers 404, always with a JSON `{"error": ...}`.
//!   Request URIs and bodies are bounded, every request has a deadline, and the default
//!   address is loopback.

mod api;
mod dashboard;
mod pool;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use pool::Pool;

/// The default address: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The longest request URI accepted (longer: 414).
pub const MAX_URI: usize = 2048;

/// The largest request body accepted (the API has no bodies; larger: 413).
pub const MAX_BODY: usize = 16 * 1024;

/// Everything that can stop the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The history could not be opened at start (missing, newer schema, unreachable...).
    #[error(transparent)]
    History(#[from] insiders_history::Error),
    /// The address could not be bound, or the runtime could not start.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The history: an SQLite file or a `postgresql://` URL.
    pub db: String,
    /// Where to listen.
    pub addr: SocketAddr,
    /// The bearer token every request must carry; `None`: no authentication.
    pub token: Option<String>,
    /// Database connections at most (requests beyond wait for one).
    pub connections: usize,
    /// The deadline of one request (then 503).
    pub timeout: Duration,
}

impl ServeOptions {
    /// Options with the defaults: 8 connections, 10 s per request.
    pub fn new(db: String, addr: SocketAddr, token: Option<String>) -> Self {
        ServeOptions {
            db,
            addr,
            token,
            connections: 8,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct App {
    pub pool: Pool,
    pub token: Option<String>,
    pub timeout: Duration,
}

/// The routes, with the guard (token, sizes, deadline) around them all.
fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(dashboard::page))
        .route("/runs/{as_of}/report", get(dashboard::report))
        .route("/api/health", get(api::health))
        .route("/api/runs", get(api::runs))
        .route("/api/runs/{as_of}", get(api::run))
        .route("/api/runs/{as_of}/insiders", get(api::insiders))
        .route("/api/customers/{id}", get(api::customer))
        .fallback(api::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), guard))
        .with_state(app)
}

/// Equal strings, compared in time that depends only on their lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token, the size limits and the deadline, before any handler.
async fn guard(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if let Some(token) = &app.token {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| same(g.as_bytes(), token.as_bytes())) {
            let mut r = api::error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token (Authorization: Bearer TOKEN)",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return r;
        }
    }
    if req.uri().to_string().len() > MAX_URI {
        return api::error(StatusCode::URI_TOO_LONG, "the request URI is too long");
    }
    // No endpoint reads a body: a large or unbounded one is refused before it is read.
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().parse::<u64>().unwrap_or(u64::MAX));
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    if chunked || length.is_some_and(|n| n > MAX_BODY as u64) {
        return api::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request bodies are limited to 16 KiB",
        );
    }
    match tokio::time::timeout(app.timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => api::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the request took too long (the database may be busy or away)",
        ),
    }
}

/// Opens the history (checking its schema), binds `opts.addr`, calls `ready` with the bound
/// address, and serves until SIGINT or SIGTERM.
///
/// # Errors
/// [`ServeError`] if the history cannot be opened, the address cannot be bound, or serving
/// fails.
pub fn serve(opts: ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    let pool = Pool::new(opts.db.clone(), opts.connections);
    // Fail at start, not at the first request, on a missing or newer database.
    pool.check()?;
    let app = Arc::new(App {
        pool,
        token: opts.token.clone(),
        timeout: opts.timeout,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(opts.connections.max(1) * 2)
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.addr)
            .await
            .map_err(|source| ServeError::Bind {
                addr: opts.addr,
                source,
            })?;
        ready(listener.local_addr()?);
        axum::serve(listener, router(app))
            .with_graceful_shutdown(shutdown())
            .await?;
        Ok(())
    })
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd's stop).
async fn shutdown() {
    let interrupt = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = interrupt => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

/// A response from a status and a body, with a content type.
pub(crate) fn typed(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
        assert!(!same(b"", b"a"));
    }
}
