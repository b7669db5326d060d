//! tocsin: a risk-indicator monitoring daemon.
//!
//! Data flows one way: source → fetch → parse → normalise → match → score →
//! alert → sink, with the store beside it. See ARCHITECTURE.md for the map.

pub mod alert;
pub mod app;
pub mod cli;
pub mod config;
pub mod http;
pub mod metrics;
pub mod model;
pub mod parse;
pub mod rules;
pub mod score;
pub mod sink;
pub mod source;
pub mod store;
