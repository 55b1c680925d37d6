//! Formatting for display: times, durations and the cut of long values.

/// Characters of a long value shown before it is cut (the rest is a click away).
pub const MAX_SHOWN_CHARS: usize = 2_000;

/// Where a value longer than `max_chars` characters is cut (a byte index on a character
/// boundary), or `None` when it is shown whole.
pub fn cut_at(text: &str, max_chars: usize) -> Option<usize> {
    text.char_indices().nth(max_chars).map(|(i, _)| i)
}

/// A duration in microseconds, as `850 µs`, `12 ms`, `3.4 s`, `2 min 5 s`, `3 h 20 min`,
/// `412 d 7 h` (a span left open for days, or replayed from an old recording).
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
            // The unit and the next one below it.
            let (big, unit, small, sub) = match s {
                0..=3_599 => (s / 60, "min", s % 60, "s"),
                3_600..=86_399 => (s / 3_600, "h", s / 60 % 60, "min"),
                _ => (s / 86_400, "d", s / 3_600 % 24, "h"),
            };
            format!("{big} {unit} {small} {sub}")
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
        // Each unit at its edges: the last value it shows and the first of the next.
        assert_eq!(duration(3_599_999_999), "59 min 59 s");
        assert_eq!(duration(3_600_000_000), "1 h 0 min");
        assert_eq!(duration(86_399_000_000), "23 h 59 min");
        assert_eq!(duration(86_400_000_000), "1 d 0 h");
        // Three years open (a span replayed from an old recording), not "1601271 min 20 s".
        assert_eq!(
            duration(3 * 365 * 86_400_000_000 + 7 * 3_600_000_000),
            "1095 d 7 h"
        );
        assert_eq!(duration(u64::MAX), "213503982 d 8 h");
    }

    #[test]
    fn clock_shows_utc_time_of_day() {
        assert_eq!(
            clock(((14 * 3600 + 3 * 60 + 7) * 1000 + 250) * 1000),
            "14:03:07.250"
        );
    }
}
