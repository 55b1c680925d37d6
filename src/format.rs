//! Formatting for display: times, durations and the cut of long values.

/// Characters of a long value shown before it is cut (the rest is a click away).
pub const MAX_SHOWN_CHARS: usize = 2_000;

/// Where a value longer than `max_chars` characters is cut (a byte index on a character
/// boundary), or `None` when it is shown whole.
pub fn cut_at(text: &str, max_chars: usize) -> Option<usize> {
    text.char_indices().nth(max_chars).map(|(i, _)| i)
}

/// A duration in microseconds, as `850 µs`, `12 ms`, `3.4 s`, `2 min 5 s`.
pub fn duration(micros: u64) -> String {
    match micros {
        0..=999 => format!("{micros} µs"),
        1_000..=999_999 => format!("{} ms", micros / 1_000),
        // Integer tenths: float formatting would add ~15 KB of wasm for one decimal.
        1_000_000..=59_999_999 => {
            let tenths = (micros + 50_000) / 100_000;
            format!("{}.{} s", tenths / 10, tenths % 10)
        }
        _ => {
            let s = micros / 1_000_000;
            format!("{} min {} s", s / 60, s % 60)
        }
    }
}

/// The time of day (UTC) of a timestamp in microseconds since the epoch, as `14:03:07.250`.
pub fn clock(micros: u64) -> String {
    let ms = micros / 1_000;
    let day_ms = ms % 86_400_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day_ms / 3_600_000,
        day_ms / 60_000 % 60,
        day_ms / 1_000 % 60,
        day_ms % 1_000
    )
}

/// A count with its noun: `1 span`, `2 spans`, `0 spans` (`one` and `many` are the noun's
/// forms).
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_of_one_is_singular_and_every_other_plural() {
        assert_eq!(count(1, "span", "spans"), "1 span");
        assert_eq!(count(0, "span", "spans"), "0 spans");
        assert_eq!(count(2, "span", "spans"), "2 spans");
        assert_eq!(count(11, "event", "events"), "11 events");
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        assert_eq!(cut_at("abc", 3), None, "exactly the limit: whole");
        assert_eq!(cut_at("abcd", 3), Some(3));
        assert_eq!(cut_at("ééé", 2), Some(4), "never inside a character");
        assert_eq!(cut_at("", 0), None);
    }

    #[test]
    fn durations_pick_a_readable_unit() {
        assert_eq!(duration(850), "850 µs");
        assert_eq!(duration(12_400), "12 ms");
        assert_eq!(duration(3_420_000), "3.4 s");
        assert_eq!(duration(59_960_000), "60.0 s");
        assert_eq!(duration(125_000_000), "2 min 5 s");
    }

    #[test]
    fn clock_shows_utc_time_of_day() {
        assert_eq!(
            clock(((14 * 3600 + 3 * 60 + 7) * 1000 + 250) * 1000),
            "14:03:07.250"
        );
    }
}
