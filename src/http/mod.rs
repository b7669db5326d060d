//! The side door: a small HTTP server that only reads.
//!
//! - `GET /metrics` (Prometheus text format 0.0.4), `GET /healthz`
//!   (liveness), `GET /readyz` (readiness, with its checks): always open,
//!   for probes and scrapers;
//! - `GET /api/v1/...` (`api`): the JSON API, one submodule per resource;
//! - `GET /` (`page`): the server-rendered status page.
//!
//! The API and the page need `http.api_token` when one is set (`auth`).
//! Nothing here changes the pipeline's state; errors and unknown paths
//! answer with JSON `{"error": "..."}` (`error`).

pub mod api;
mod auth;
pub mod error;
mod page;
mod probes;

pub use probes::{Check, Readiness};

use crate::app::reload::LiveRules;
use crate::config::Config;
use crate::metrics::{self, Metrics};
use crate::store::Store;
use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use error::ApiError;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What the handlers read. Built once by `app::run`.
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
    /// Read only: items, matches, source state.
    pub store: Arc<Store>,
    /// The rules in use (for the declared indicators).
    pub rules: Arc<LiveRules>,
    /// The config in use (sources in config order, `http.api_token`, the
    /// score model); swapped when a SIGHUP reloads it.
    pub config: arc_swap::ArcSwap<Config>,
}

impl HttpState {
    /// The config in use now.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }
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
    let api = api::router().layer(middleware::from_fn_with_state(
        state.clone(),
        auth::require_api_token,
    ));
    let page = Router::new()
        .route("/", get(page::status_page))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_page_token,
        ));
    Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(probes::healthz))
        .route("/readyz", get(probes::readyz))
        .nest("/api/v1", api)
        .merge(page)
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
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
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics")
                .into_response()
        }
    }
}
