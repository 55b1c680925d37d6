//! Process badges and run states as headers show them: pure logic, tested natively.

use std::cmp::Ordering;

/// Badges a header shows before the rest collapse into one "+N" badge.
pub const MAX_BADGES: usize = 3;

/// Orders names as people count: digit runs by their number (`worker-2` before `worker-10`),
/// everything else by character. Equal numbers with more leading zeros sort after.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    // Bytes: UTF-8 orders as its characters do, and ASCII digits are never part of another
    // character's bytes.
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let (da, db) = (digits(&a[i..]), digits(&b[j..]));
            // Numbers of any length, compared without parsing (no overflow).
            let (ta, tb) = (trim_zeros(da), trim_zeros(db));
            let by_value = ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb));
            match by_value.then(da.len().cmp(&db.len())) {
                Ordering::Equal => (i, j) = (i + da.len(), j + db.len()),
                other => return other,
            }
        } else {
            match a[i].cmp(&b[j]) {
                Ordering::Equal => (i, j) = (i + 1, j + 1),
                other => return other,
            }
        }
    }
    (a.len() - i).cmp(&(b.len() - j))
}

/// Sorts `names` in [`natural_cmp`] order. The panel's only sort: each sort call with its own
/// element or comparison type costs the wasm another copy of the standard library's sort
/// (about 3 KB raw).
pub fn sort_natural(names: &mut [&str]) {
    names.sort_by(|a, b| natural_cmp(a, b));
}

/// The run of ASCII digits `s` starts with.
fn digits(s: &[u8]) -> &[u8] {
    let len = s.iter().take_while(|c| c.is_ascii_digit()).count();
    &s[..len]
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let zeros = d.iter().take_while(|&&c| c == b'0').count();
    &d[zeros..]
}

/// How many of `count` badges a header shows, and how many the "+N" badge stands for: all of
/// them when one more badge would not be shorter than "+N".
pub fn collapse(count: usize) -> (usize, usize) {
    if count <= MAX_BADGES + 1 {
        (count, 0)
    } else {
        (MAX_BADGES, count - MAX_BADGES)
    }
}

/// How a span's run state reads in its header: `(class, text)`. Only streamed kinds are
/// visibly in progress (others are complete when made); a streamed span its trace outlived
/// (the trace ended, the span never did) is "unfinished", not running: nothing more will come.
pub fn span_state(
    running: bool,
    textual: bool,
    trace_running: bool,
) -> (&'static str, &'static str) {
    match (running, textual, trace_running) {
        (true, true, true) => ("utp-running", "…"),
        (true, true, false) => ("utp-unfinished", "unfinished"),
        _ => ("", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
        let mut v = names.to_vec();
        sort_natural(&mut v);
        v
    }

    #[test]
    fn numbers_sort_by_value() {
        assert_eq!(
            sorted(&["worker-10", "worker-2", "worker-1", "worker-20", "worker-3"]),
            vec!["worker-1", "worker-2", "worker-3", "worker-10", "worker-20"]
        );
        // Near misses: text before and after numbers, several numbers, no numbers.
        assert_eq!(
            sorted(&["a10b2", "a10b10", "a9b99", "b", "a", "a10"]),
            vec!["a", "a9b99", "a10", "a10b2", "a10b10", "b"]
        );
        assert_eq!(natural_cmp("x", "x"), Ordering::Equal);
        assert_eq!(natural_cmp("", "a"), Ordering::Less);
        assert_eq!(natural_cmp("2", "10"), Ordering::Less);
        assert_eq!(natural_cmp("agent@h:9", "agent@h:10"), Ordering::Less);
    }

    #[test]
    fn long_numbers_and_leading_zeros() {
        // Longer than any integer type: compared by length, then digits.
        let big = format!("n{}", "9".repeat(40));
        let bigger = format!("n1{}", "0".repeat(40));
        assert_eq!(natural_cmp(&big, &bigger), Ordering::Less);
        assert_eq!(natural_cmp("w007", "w7"), Ordering::Greater);
        assert_eq!(natural_cmp("w007", "w8"), Ordering::Less);
        assert_eq!(natural_cmp("w0", "w00"), Ordering::Less);
    }

    #[test]
    fn non_ascii_compares_by_character() {
        assert_eq!(natural_cmp("é2", "é10"), Ordering::Less);
        assert_eq!(natural_cmp("z", "é"), Ordering::Less);
        // Non-ASCII digits are characters, not numbers.
        assert_eq!(natural_cmp("٣", "3"), "٣".cmp("3"));
    }

    #[test]
    fn badges_collapse_past_the_cap() {
        assert_eq!(collapse(0), (0, 0));
        assert_eq!(collapse(3), (3, 0));
        // "+1" is no shorter than the badge it would hide.
        assert_eq!(collapse(4), (4, 0));
        assert_eq!(collapse(5), (3, 2));
        assert_eq!(collapse(50), (3, 47));
    }

    #[test]
    fn a_streamed_span_in_an_ended_trace_is_unfinished() {
        assert_eq!(span_state(true, true, true), ("utp-running", "…"));
        assert_eq!(
            span_state(true, true, false),
            ("utp-unfinished", "unfinished")
        );
        // Kinds complete when made show no state either way.
        assert_eq!(span_state(true, false, true), ("", ""));
        assert_eq!(span_state(true, false, false), ("", ""));
        // An ended span is shown by its own outcome elsewhere.
        assert_eq!(span_state(false, true, false), ("", ""));
    }
}
