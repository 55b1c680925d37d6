//! Who may connect: the Origin allow-list (against cross-site WebSocket hijacking) and the
//! optional bearer token.

use axum::http::{header, HeaderMap, StatusCode};

use crate::config::Config;

/// Checks a request; the error is the status and a reason for the refused client.
pub fn check(
    config: &Config,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<(), (StatusCode, String)> {
    check_origin(config, headers)?;
    check_token(config, headers, query_token)
}

/// Browsers send their page's origin; programs send none and are not affected.
pub fn check_origin(config: &Config, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        let allowed = config
            .allow_origins
            .iter()
            .any(|a| a == "*" || a.trim_end_matches('/') == origin);
        if !allowed {
            return Err((
                StatusCode::FORBIDDEN,
                format!("origin `{origin}` is not allowed (see --allow-origin)"),
            ));
        }
    }
    Ok(())
}

fn check_token(
    config: &Config,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<(), (StatusCode, String)> {
    if let Some(token) = &config.token {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let given = bearer.or(query_token).unwrap_or("");
        if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
            return Err((
                StatusCode::UNAUTHORIZED,
                "a valid token is required (Authorization: Bearer …, or ?token=…)".into(),
            ));
        }
    }
    Ok(())
}

/// Compares without an early exit, so that timing does not reveal a prefix of the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, &x) in a.iter().enumerate() {
        diff |= usize::from(x ^ b.get(i % b.len().max(1)).copied().unwrap_or(0));
    }
    diff == 0
}
