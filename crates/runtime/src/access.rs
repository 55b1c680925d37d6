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
    // `localhost.` is the same name, fully qualified; `localhost..` is no name at all.
    let host = host.strip_suffix('.').unwrap_or(host);
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

/// Each check with near misses: one character off, a longer name that starts with an allowed
/// one, another case, another port. (The server tests cover the same rules end to end.)
#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn config(listen: &str, hosts: &[&str], origins: &[&str], token: Option<&str>) -> Config {
        let mut c = Config::default_for(listen.parse().expect("an address"));
        c.allow_hosts = hosts.iter().map(|h| h.to_string()).collect();
        c.allow_origins = origins.iter().map(|o| o.to_string()).collect();
        c.token = token.map(str::to_owned);
        c
    }

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(name, HeaderValue::from_str(value).expect("a header value"));
        }
        h
    }

    fn host(c: &Config, value: &str) -> bool {
        check_host(c, &headers(&[(header::HOST, value)])).is_ok()
    }

    #[test]
    fn a_loopback_server_answers_loopback_names_and_listed_ones_only() {
        let c = config("127.0.0.1:4700", &["editor.test"], &[], None);
        for ok in [
            "localhost",
            "localhost:4700",
            "LOCALHOST.:80",
            "127.0.0.1:4700",
            "127.9.9.9",
            "[::1]:4700",
            "[::1]",
            "editor.test:4700",
            "EDITOR.TEST",
        ] {
            assert!(host(&c, ok), "{ok} refused");
        }
        for refused in [
            "evil.example",
            "localhost.evil.example",
            "localhostx",
            "128.0.0.1",
            "[::2]:4700",
            "editor.test.evil",
            "editor.tes",
            "",
        ] {
            assert!(!host(&c, refused), "{refused} served");
        }
        let err = check_host(&c, &headers(&[(header::HOST, "evil.example:1")])).unwrap_err();
        assert_eq!(err.0, StatusCode::MISDIRECTED_REQUEST);
        assert!(err.1.contains("evil.example:1"), "{}", err.1);
        // No Host header at all (HTTP/1.0): nothing to check.
        assert!(check_host(&c, &HeaderMap::new()).is_ok());
        // `*` serves any name.
        assert!(host(
            &config("127.0.0.1:1", &["*"], &[], None),
            "evil.example"
        ));
    }

    #[test]
    fn another_address_serves_any_name_until_names_are_listed() {
        let open = config("0.0.0.0:4700", &[], &[], None);
        assert!(host(&open, "traces.example.org"));
        assert!(host(&open, "localhost"));
        let listed = config("0.0.0.0:4700", &["traces.example.org"], &[], None);
        assert!(host(&listed, "traces.example.org:4700"));
        assert!(
            !host(&listed, "localhost"),
            "a listed server answers only its names"
        );
        assert!(!host(&listed, "traces.example.org.evil"));
    }

    #[test]
    fn host_names_lose_their_port_only() {
        assert_eq!(host_name("a.b:80"), "a.b");
        assert_eq!(host_name("a.b"), "a.b");
        assert_eq!(host_name("[::1]:80"), "::1");
        assert_eq!(host_name("[::1"), "::1");
        assert_eq!(host_name("::1"), ":");
        assert!(is_loopback_name("localhost."));
        assert!(is_loopback_name("[::1]"));
        assert!(
            !is_loopback_name("localhost.."),
            "one trailing dot only is the same name"
        );
    }

    fn origin(c: &Config, value: &str) -> bool {
        check_origin(c, &headers(&[(header::ORIGIN, value)])).is_ok()
    }

    #[test]
    fn an_origin_must_equal_an_entry() {
        let c = config(
            "127.0.0.1:1",
            &[],
            &["http://localhost:8080/", "https://editor.test"],
            None,
        );
        assert!(origin(&c, "http://localhost:8080"));
        assert!(origin(&c, "https://editor.test"));
        for refused in [
            "http://localhost:8080.evil.example",
            "http://localhost:808",
            "http://localhost:8081",
            "https://localhost:8080",
            "http://localhost:8080/",
            "https://editor.test.evil",
            "https://editor.tes",
            "http://editor.test",
            "null",
            "",
        ] {
            assert!(!origin(&c, refused), "{refused:?} allowed");
        }
        let err = check_origin(&c, &headers(&[(header::ORIGIN, "null")])).unwrap_err();
        assert_eq!(err.0, StatusCode::FORBIDDEN);
        assert!(err.1.contains("`null`"), "{}", err.1);
        // A program sends no Origin.
        assert!(check_origin(&c, &HeaderMap::new()).is_ok());
        assert!(origin(
            &config("127.0.0.1:1", &[], &["*"], None),
            "https://any.example"
        ));
        assert!(!origin(
            &config("127.0.0.1:1", &[], &[], None),
            "http://localhost:8080"
        ));
    }

    #[test]
    fn the_token_must_be_given_exactly() {
        let c = config("127.0.0.1:1", &[], &[], Some("s3cret"));
        let bearer = |v: &str| has_token(&c, &headers(&[(header::AUTHORIZATION, v)]), None);
        let query = |q: &str| has_token(&c, &HeaderMap::new(), Some(q));
        assert!(bearer("Bearer s3cret"));
        assert!(query("s3cret"));
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cret ",
            "Bearer s3cretx",
            "bearer s3cret",
            "s3cret",
            "Bearer ",
        ] {
            assert!(!bearer(wrong), "{wrong:?} accepted");
        }
        for wrong in ["s3cre", "s3cretx", "S3CRET", "", "3cret"] {
            assert!(!query(wrong), "{wrong:?} accepted");
        }
        assert!(!has_token(&c, &HeaderMap::new(), None));
        let err = check(&c, &HeaderMap::new(), None).unwrap_err();
        assert_eq!(err.0, StatusCode::UNAUTHORIZED);
        // Without a token configured, nothing is asked.
        assert!(has_token(
            &config("127.0.0.1:1", &[], &[], None),
            &HeaderMap::new(),
            None
        ));
    }

    #[test]
    fn constant_time_eq_is_equality() {
        for (a, b, eq) in [
            ("", "", true),
            ("a", "a", true),
            ("", "a", false),
            ("a", "", false),
            ("ab", "a", false),
            ("a", "ab", false),
            ("ab", "ba", false),
            ("abc", "abd", false),
            ("xbc", "abc", false),
        ] {
            assert_eq!(
                constant_time_eq(a.as_bytes(), b.as_bytes()),
                eq,
                "{a:?} {b:?}"
            );
        }
    }
}
