//! HTTP fetching: conditional GET, decompression, size and time limits.
//!
//! One shared `reqwest` client (rustls, connection pooling). The body is
//! streamed and the size limit is enforced on the *decompressed* bytes as
//! they arrive, so neither a huge page nor a gzip bomb is ever held whole.

use crate::config::FetchSettings;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use std::time::Duration;

/// The previous response's validators, sent for a conditional GET.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A fetched document, or the news that it has not changed.
#[derive(Debug)]
pub enum Fetched {
    NotModified,
    Body {
        bytes: Vec<u8>,
        content_type: Option<String>,
        validators: Validators,
        /// Final URL after redirects (HTML links resolve against it).
        url: url::Url,
    },
}

/// One fetch attempt: the status of the (final, after redirects) response
/// when one arrived, and what came of it.
#[derive(Debug)]
pub struct Attempt {
    pub status: Option<u16>,
    pub result: Result<Fetched, FetchError>,
}

/// Why a fetch failed. Every kind is retried on the next poll with backoff;
/// `RetryLater` also says when the server asked us to come back.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connect(String),
    #[error("too many redirects")]
    Redirects,
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("HTTP status {status}, retry after {}s", after.as_secs())]
    RetryLater { status: u16, after: Duration },
    #[error("body larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("reading body: {0}")]
    Body(String),
}

impl FetchError {
    /// A short, bounded label for metrics (never the error text).
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::Timeout => "timeout",
            FetchError::Connect(_) => "connect",
            FetchError::Redirects => "redirects",
            FetchError::Status(_) => "status",
            FetchError::RetryLater { .. } => "retry_later",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Body(_) => "body",
        }
    }

    fn from_reqwest(e: reqwest::Error) -> FetchError {
        if e.is_timeout() {
            FetchError::Timeout
        } else if e.is_redirect() {
            FetchError::Redirects
        } else if e.is_connect() {
            FetchError::Connect(root_cause(&e))
        } else {
            FetchError::Body(root_cause(&e))
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// Fetches documents with one pooled client and fixed limits.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body: u64,
}

impl Fetcher {
    /// Builds the client. Fails only if the TLS backend cannot initialise.
    pub fn new(settings: &FetchSettings) -> Result<Fetcher, reqwest::Error> {
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::limited(settings.max_redirects))
            .pool_idle_timeout(Duration::from_secs(90))
            .build()?;
        Ok(Fetcher {
            client,
            max_body: settings.max_body,
        })
    }

    /// One conditional GET. The attempt carries the response status even
    /// when reading the body failed, so every response can be counted.
    pub async fn fetch(&self, url: &url::Url, validators: &Validators) -> Attempt {
        let mut request = self.client.get(url.clone());
        if let Some(etag) = &validators.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, lm);
        }
        match request.send().await {
            Ok(response) => Attempt {
                status: Some(response.status().as_u16()),
                result: self.read(response).await,
            },
            Err(e) => Attempt {
                status: None,
                result: Err(FetchError::from_reqwest(e)),
            },
        }
    }

    /// Judges the status and streams the body within the size limit.
    async fn read(&self, mut response: reqwest::Response) -> Result<Fetched, FetchError> {
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        let busy =
            status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
        if let Some(after) = retry_after(response.headers(), Utc::now()).filter(|_| busy) {
            return Err(FetchError::RetryLater {
                status: status.as_u16(),
                after,
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.as_u16()));
        }
        // Content-Length is the compressed size when the body is encoded; it
        // is a cheap early rejection, the streamed count below is the rule.
        if response
            .content_length()
            .is_some_and(|len| len > self.max_body)
        {
            return Err(FetchError::TooLarge {
                limit: self.max_body,
            });
        }
        let headers = response.headers();
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let validators = Validators {
            etag: text(header::ETAG),
            last_modified: text(header::LAST_MODIFIED),
        };
        let content_type = text(header::CONTENT_TYPE);
        let final_url = response.url().clone();
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(FetchError::from_reqwest)? {
            if bytes.len() as u64 + chunk.len() as u64 > self.max_body {
                return Err(FetchError::TooLarge {
                    limit: self.max_body,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body {
            bytes,
            content_type,
            validators,
            url: final_url,
        })
    }
}

/// Parses `Retry-After` as seconds or an HTTP date; capped at one day so a
/// broken header cannot silence a source for ever.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    let after = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let when = DateTime::parse_from_rfc2822(value)
                .ok()?
                .with_timezone(&Utc);
            (when - now).to_std().unwrap_or(Duration::ZERO)
        }
    };
    Some(after.min(Duration::from_secs(86_400)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2025-07-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut h = HeaderMap::new();
        h.insert(header::RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert(
            header::RETRY_AFTER,
            "Tue, 01 Jul 2025 10:05:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(300)));
        h.insert(header::RETRY_AFTER, "999999999".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(86_400)));
    }
}
