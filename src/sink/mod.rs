//! Stage 6: alerts leave tocsin. `slack`, `webhook` and `alertmanager`
//! build each sink's request (pure, snapshot-tested); [`Sink::send`] makes
//! one attempt; `deliver` runs one worker per sink over the store's outbox.
//!
//! Sink URLs are credentials (a Slack webhook URL is its own password), so
//! they never appear in errors, logs or metrics: errors name the sink.

pub mod alertmanager;
pub mod deliver;
pub mod slack;
pub mod webhook;

use crate::alert::AlertDoc;
use crate::config::{SinkConfig, SinkKind};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use std::time::Duration;

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq)]
pub struct SendError {
    /// What went wrong, without the URL.
    pub message: String,
    /// The receiver asked us to wait this long (429/503 `Retry-After`).
    pub retry_after: Option<Duration>,
    /// Retrying cannot help (a 4xx other than 408/429): dead-letter now.
    pub permanent: bool,
}

/// A configured sink with its HTTP client.
pub struct Sink {
    pub config: SinkConfig,
    client: reqwest::Client,
    resolve_after: Duration,
}

impl Sink {
    pub fn new(
        config: SinkConfig,
        user_agent: &str,
        timeout: Duration,
        resolve_after: Duration,
    ) -> anyhow::Result<Sink> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A webhook that redirects elsewhere is a misconfiguration, and
            // following it would send the alert where nobody configured.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Sink {
            config,
            client,
            resolve_after,
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The least time between two messages: Slack allows about one per
    /// second per incoming webhook.
    pub fn min_interval(&self) -> Duration {
        match self.config.kind {
            SinkKind::Slack => Duration::from_secs(1),
            _ => Duration::ZERO,
        }
    }

    /// Makes one delivery attempt.
    pub async fn send(&self, alert: &AlertDoc, now: DateTime<Utc>) -> Result<(), SendError> {
        let url = self.config.url.expose();
        let request = match &self.config.kind {
            SinkKind::Slack => self.client.post(url).json(&slack::message(alert)),
            SinkKind::Webhook { secret } => {
                let (body, headers) = webhook::request(alert, secret.expose(), now.timestamp());
                headers
                    .into_iter()
                    .fold(self.client.post(url), |r, (k, v)| r.header(k, v))
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body)
            }
            SinkKind::Alertmanager => {
                let base = url.trim_end_matches('/');
                self.client
                    .post(format!("{base}/{}", alertmanager::PATH))
                    .json(&alertmanager::body(alert, now, self.resolve_after))
            }
        };
        let response = request.send().await.map_err(|e| SendError {
            // `without_url`: the URL may hold the credential.
            message: describe(&e.without_url()).replace(url, "<sink url>"),
            retry_after: None,
            permanent: false,
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let permanent = status.is_client_error()
            && status != StatusCode::TOO_MANY_REQUESTS
            && status != StatusCode::REQUEST_TIMEOUT;
        // A little of the body helps (Slack says `invalid_payload`), but it
        // is the receiver's text: keep it short and on one line.
        let text = response.text().await.unwrap_or_default();
        let text: String = text.chars().take(200).collect();
        Err(SendError {
            message: format!("HTTP {status}: {}", text.replace(['\n', '\r'], " ")),
            retry_after,
            permanent,
        })
    }
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut message = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        message.push_str(&format!(": {s}"));
        source = s.source();
    }
    message
}
