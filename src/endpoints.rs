//! Which runtime URL a panel tries: a panel given several (comma- or space-separated, e.g.
//! runtimes sharing one NATS JetStream log) moves to the next after a failure, round the list.

/// The URLs of a `url` prop or attribute, in order, without blanks.
pub fn parse(urls: &str) -> Vec<String> {
    urls.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The index to try after a failure of `current`.
pub fn next(current: usize, count: usize) -> usize {
    if count == 0 {
        0
    } else {
        (current + 1) % count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_urls_are_tried_in_turn() {
        let urls = parse(" ws://a/v1/panel, ws://b/v1/panel\nws://c/v1/panel ,");
        assert_eq!(
            urls,
            ["ws://a/v1/panel", "ws://b/v1/panel", "ws://c/v1/panel"]
        );
        assert_eq!(next(0, 3), 1);
        assert_eq!(next(2, 3), 0, "round the list");
        assert_eq!(parse("ws://only/v1/panel"), ["ws://only/v1/panel"]);
        assert_eq!(next(0, 1), 0);
        assert!(parse(" , ").is_empty());
        assert_eq!(next(5, 0), 0);
    }
}
