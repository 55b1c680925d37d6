//! Formatting for display: times and durations.

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

#[cfg(test)]
mod tests {
    use super::*;

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
