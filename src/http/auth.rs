//! The optional API token (`http.api_token`).
//!
//! When a token is configured, `/api/v1/*` needs `Authorization: Bearer
//! <token>`, and the status page `/` needs the same token, as a bearer
//! token or as the password of HTTP Basic auth (any user name), so that a
//! browser can ask for it. The page shows exactly what the API does (feed
//! text, levels, source errors), so a token that guarded only the API
//! would guard nothing. `/healthz`, `/readyz` and `/metrics` stay open:
//! probes and scrapers must reach them without secrets, and they carry no
//! feed text (metric labels come only from config and rules).

use super::HttpState;
use super::error::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Compares a presented token with the configured one in constant time.
/// Both are hashed first, so neither the content nor the length of the
/// real token can be learnt from how long a wrong guess takes.
fn token_matches(presented: &[u8], expected: &str) -> bool {
    let a = Sha256::digest(presented);
    let b = Sha256::digest(expected.as_bytes());
    a.as_slice().ct_eq(b.as_slice()).into()
}

/// The credential in an `Authorization` header: the token of `Bearer`,
/// or, when `basic` is allowed, the password of `Basic`.
fn presented(headers: &HeaderMap, basic: bool) -> Option<Vec<u8>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.as_bytes().to_vec());
    }
    if basic && scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let colon = decoded.iter().position(|&b| b == b':')?;
        return Some(decoded[colon + 1..].to_vec());
    }
    None
}

fn check(state: &HttpState, headers: &HeaderMap, basic: bool) -> bool {
    match &state.config().api_token {
        None => true,
        Some(token) => presented(headers, basic).is_some_and(|p| token_matches(&p, token.expose())),
    }
}

fn unauthorized(challenge: &'static str) -> Response {
    let message = "missing or wrong API token (send `Authorization: Bearer <http.api_token>`)";
    let mut response = ApiError::new(axum::http::StatusCode::UNAUTHORIZED, message).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    response
}

/// Middleware of `/api/v1`: bearer token only.
pub async fn require_api_token(
    State(state): State<Arc<HttpState>>,
    request: Request,
    next: Next,
) -> Response {
    if check(&state, request.headers(), false) {
        return next.run(request).await;
    }
    unauthorized("Bearer realm=\"tocsin\"")
}

/// Middleware of the status page: bearer token, or Basic auth with the
/// token as password; the Basic challenge makes browsers prompt for it.
pub async fn require_page_token(
    State(state): State<Arc<HttpState>>,
    request: Request,
    next: Next,
) -> Response {
    if check(&state, request.headers(), true) {
        return next.run(request).await;
    }
    unauthorized("Basic realm=\"tocsin\", charset=\"UTF-8\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn bearer_and_basic_credentials() {
        assert_eq!(
            presented(&headers("Bearer s3cr3t"), false).as_deref(),
            Some(&b"s3cr3t"[..])
        );
        assert_eq!(
            presented(&headers("bearer  s3cr3t "), false).as_deref(),
            Some(&b"s3cr3t"[..])
        );
        // "analyst:s3cr3t"
        let basic = headers("Basic YW5hbHlzdDpzM2NyM3Q=");
        assert_eq!(presented(&basic, false), None, "the API takes no Basic");
        assert_eq!(presented(&basic, true).as_deref(), Some(&b"s3cr3t"[..]));
        assert_eq!(presented(&headers("Basic !!!"), true), None);
        assert_eq!(presented(&HeaderMap::new(), true), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches(b"s3cr3t", "s3cr3t"));
        assert!(!token_matches(b"s3cr3", "s3cr3t"));
        assert!(!token_matches(b"s3cr3tt", "s3cr3t"));
        assert!(!token_matches(b"", "s3cr3t"));
    }
}
