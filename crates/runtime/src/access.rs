//! Who may connect: the Host check (against DNS rebinding), the Origin allow-list (against
//! cross-site WebSocket hijacking) and the optional bearer token.

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

/// Whether a host name (without port) names this machine's loopback interface.
fn is_loopback_name(host: &str) -> bool {
    let host = host.trim_end_matches('.');
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The host name of a Host header value, without its port.
fn host_name(value: &str) -> &str {
    if let Some(rest) = value.strip_prefix('[') {
        // [::1]:4700
        return rest.split(']').next().unwrap_or("");
    }
    value.rsplit_once(':').map_or(value, |(h, _)| h)
}

/// A page on another site can make its own name resolve to 127.0.0.1 (DNS rebinding) and then
/// talk to a loopback server as if same-origin; its requests still carry its own name in Host.
/// So a server on loopback answers only to loopback names and `--allow-host` names; a server
/// on another address only to `--allow-host` names when any are given.
pub fn check_host(config: &Config, headers: &HeaderMap) -> Result<(), (StatusCode, String)> {
    let Some(value) = headers.get(header::HOST) else {
        return Ok(());
    };
    let value = value.to_str().unwrap_or("");
    let name = host_name(value);
    let listed = config
        .allow_hosts
        .iter()
        .any(|h| h == "*" || h.eq_ignore_ascii_case(name));
    let allowed = if config.listen.ip().is_loopback() {
        listed || is_loopback_name(name)
    } else {
        listed || config.allow_hosts.is_empty()
    };
    if allowed {
        Ok(())
    } else {
        Err((
            StatusCode::MISDIRECTED_REQUEST,
            format!("host `{value}` is not served here (see --allow-host)"),
        ))
    }
}

/// Whether the request carries the token (or none is needed).
pub fn has_token(config: &Config, headers: &HeaderMap, query_token: Option<&str>) -> bool {
    check_token(config, headers, query_token).is_ok()
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
