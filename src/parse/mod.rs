//! Stage 2, pure: feed bytes and HTML pages become [`crate::model::Item`]s.

pub mod normalise;
