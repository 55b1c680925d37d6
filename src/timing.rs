//! Time as the panel shows it (issue 17, items 5 and 11): a span's or child trace's place in its
//! trace as a bar (a waterfall), and a stream's statistics (time to first token, tokens per
//! second). Pure logic, in integers (float formatting would cost the wasm about 15 KB), tested
//! natively; `views::waterfall` and `views::stream_stats` show it.

use user_trace_model::Appends;

use crate::format;

/// Where a bar sits in its trace's extent, in tenths of a percent (0..=1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    pub left: u32,
    pub width: u32,
}

/// The bar of something that ran from `start` to `end` in a trace that ran from `trace_start`
/// to `trace_end` (microseconds; a running one's end is now). Clamped into the trace (clocks
/// of several processes disagree), and at least 0.5% wide so that an instant is still seen.
pub fn bar(start: u64, end: u64, trace_start: u64, trace_end: u64) -> Bar {
    let extent = trace_end.saturating_sub(trace_start).max(1);
    let at = |ts: u64| (ts.saturating_sub(trace_start).min(extent) * 1000 / extent) as u32;
    let left = at(start).min(995);
    let width = at(end.max(start)).saturating_sub(left).max(5);
    Bar {
        left,
        width: width.min(1000 - left),
    }
}

/// Tenths of a percent as a CSS length (`12.5%`).
pub fn percent(permille: u32) -> String {
    format!("{}.{}%", permille / 10, permille % 10)
}

/// How long after its trace something started, as `+1.2 s`.
pub fn offset(start: u64, trace_start: u64) -> String {
    format!("+{}", format::duration(start.saturating_sub(trace_start)))
}

/// A stream's statistics, from its pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStats {
    /// Time to first token: from the span's start to its first piece (microseconds).
    pub first_token: Option<u64>,
    /// Tokens per second in tenths, over the pieces after the first (the first one's wait is
    /// the time to first token, not the rate).
    pub rate_tenths: Option<u64>,
}

/// The statistics of a span that started at `start` and received `appends`.
pub fn stream_stats(appends: Appends, start: u64) -> StreamStats {
    // Only text sent with the span itself: nothing streamed, no time to a first token.
    let appends = if appends.count == 1 && appends.first_ts == start {
        Appends::default()
    } else {
        appends
    };
    let first_token = (appends.count > 0).then(|| appends.first_ts.saturating_sub(start));
    let spread = appends.last_ts.saturating_sub(appends.first_ts);
    let rate_tenths = (appends.count > 1 && spread > 0)
        .then(|| u64::from(appends.count - 1) * 10_000_000 / spread);
    StreamStats {
        first_token,
        rate_tenths,
    }
}

/// A rate in tenths as `42 tok/s` (tenths shown below 10: `4.2 tok/s`).
pub fn rate(tenths: u64) -> String {
    if tenths >= 100 {
        format!("{} tok/s", (tenths + 5) / 10)
    } else {
        format!("{}.{} tok/s", tenths / 10, tenths % 10)
    }
}

/// The statistics as the header shows them: `TTFT 320 ms · 42 tok/s` (parts not known yet
/// left out).
pub fn stats_text(stats: StreamStats) -> String {
    let mut parts = Vec::new();
    if let Some(t) = stats.first_token {
        parts.push(format!("TTFT {}", format::duration(t)));
    }
    if let Some(r) = stats.rate_tenths {
        parts.push(rate(r));
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_is_its_share_of_the_trace() {
        // Starts a quarter in, lasts half.
        assert_eq!(
            bar(250, 750, 0, 1000),
            Bar {
                left: 250,
                width: 500
            }
        );
        assert_eq!(
            bar(1_000_000, 1_000_000, 1_000_000, 2_000_000).width,
            5,
            "an instant is seen"
        );
        // Near misses: before the trace (another process's clock), past its end, an empty trace.
        assert_eq!(
            bar(0, 500, 100, 1100),
            Bar {
                left: 0,
                width: 400
            }
        );
        assert_eq!(
            bar(900, 5000, 0, 1000),
            Bar {
                left: 900,
                width: 100
            }
        );
        assert_eq!(
            bar(5000, 6000, 0, 1000),
            Bar {
                left: 995,
                width: 5
            }
        );
        assert_eq!(bar(7, 7, 7, 7), Bar { left: 0, width: 5 });
        // An end before the start (clock skew) is an instant.
        assert_eq!(
            bar(600, 100, 0, 1000),
            Bar {
                left: 600,
                width: 5
            }
        );
    }

    #[test]
    fn bars_grow_with_the_trace() {
        // While open, its end is now: the bar grows as now moves, its left edge shrinks.
        let early = bar(500, 1000, 0, 1000);
        let later = bar(500, 2000, 0, 2000);
        assert!(later.width > early.width && later.left < early.left);
    }

    #[test]
    fn percentages_and_offsets_read() {
        assert_eq!(percent(125), "12.5%");
        assert_eq!(percent(1000), "100.0%");
        assert_eq!(percent(0), "0.0%");
        assert_eq!(offset(1_201_000, 1_000), "+1.2 s");
        assert_eq!(offset(0, 1_000), "+0 µs", "clock skew never goes negative");
    }

    fn appends(count: u32, first_ts: u64, last_ts: u64) -> Appends {
        Appends {
            count,
            first_ts,
            last_ts,
        }
    }

    #[test]
    fn stream_stats_from_the_pieces() {
        // Started at 1 s, first token at 1.32 s, 43 tokens over the next 1 s: 42 tok/s.
        let s = stream_stats(appends(43, 1_320_000, 2_320_000), 1_000_000);
        assert_eq!(s.first_token, Some(320_000));
        assert_eq!(s.rate_tenths, Some(420));
        assert_eq!(stats_text(s), "TTFT 320 ms · 42 tok/s");
        // Near misses: nothing yet, one piece (no rate), pieces all at one instant.
        let none = stream_stats(Appends::default(), 5);
        assert_eq!(
            none,
            StreamStats {
                first_token: None,
                rate_tenths: None
            }
        );
        assert_eq!(stats_text(none), "");
        assert_eq!(stream_stats(appends(1, 9, 9), 4).rate_tenths, None);
        assert_eq!(
            stream_stats(appends(1, 4, 4), 4).first_token,
            None,
            "the text it was created with is no token"
        );
        assert_eq!(stream_stats(appends(2, 4, 5), 4).first_token, Some(0));
        assert_eq!(stream_stats(appends(5, 9, 9), 4).rate_tenths, None);
        assert_eq!(rate(42), "4.2 tok/s");
        assert_eq!(rate(95), "9.5 tok/s");
        assert_eq!(rate(100), "10 tok/s");
    }
}
