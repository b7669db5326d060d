//! The one integration-test binary: modules by feature, fixtures on disk,
//! servers on 127.0.0.1 started by the tests themselves.

mod alerts;
mod api;
mod backoff;
mod cli;
mod config_docs;
mod container;
mod dashboards;
mod metrics;
mod page;
mod parse_suites;
mod polling;
mod rules;
mod support;
mod systemd;
