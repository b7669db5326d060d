//! The side door: a small HTTP server that only reads.
//!
//! `GET /metrics` (Prometheus text format 0.0.4), `GET /healthz` (liveness)
//! and `GET /readyz` (readiness, with its checks). Nothing here changes the
//! pipeline's state; errors and unknown paths answer with JSON
//! `{"error": "..."}`.

mod probes;

pub use probes::{Check, Readiness};

use crate::metrics::{self, Metrics};
use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What the handlers read.
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
}

/// Binds the listening socket; failing to is fatal at start, so the error
/// names the address and the setting.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (http.listen)"))
}

/// The routes of the side door.
pub fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not found") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        })
        .with_state(state)
}

/// Serves until `cancel` fires, then finishes the requests in flight.
pub async fn serve(listener: TcpListener, state: Arc<HttpState>, cancel: CancellationToken) {
    let addr = listener.local_addr().ok();
    tracing::info!(http.listen = ?addr, "http server listening");
    let server =
        axum::serve(listener, router(state)).with_graceful_shutdown(cancel.cancelled_owned());
    if let Err(e) = server.await {
        tracing::error!(error = %e, "http server failed");
    }
}

async fn metrics_text(State(state): State<Arc<HttpState>>) -> Response {
    match state.metrics.encode() {
        Ok(text) => ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode metrics");
            error(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics")
        }
    }
}

/// An error answer: the status and `{"error": message}`.
fn error(status: StatusCode, message: &str) -> Response {
    (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
}
