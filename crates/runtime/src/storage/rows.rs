//! How the SQLite store lays events out in rows (its layout 2): one row for a run of events.
//!
//! A row holds events numbered one after another: its key is the first one's number, `count`
//! says how many, `json` holds their texts as JSON Lines (one event a line) and `crcs` each
//! event's CRC-32, four bytes little-endian apiece. An insert a row instead of one an event
//! halved SQLite's cost per event, and what the store adds to the runtime's ingest went from
//! 2.2 µs to 0.8–1.1 (BENCHMARKS.md, session 17); a checksum an event keeps what a flipped
//! byte loses to its own event.
//!
//! The protocol's writer never puts a raw newline in an event's text (JSON escapes it in a
//! string, and the text is compact). An event that holds one anyway gets a row of its own,
//! whose text is the event whole.

use super::checksum;

/// A row's text is at most this long, unless one event alone is longer. Bounded so that a
/// damaged page of a row's text loses a bounded run of events, and trimming a row at a
/// compaction copies little.
pub const ROW_BYTES: usize = 16 << 10;

/// A row being built.
#[derive(Debug, Default)]
pub struct Row {
    /// The first event's number.
    pub first: u64,
    pub count: u64,
    pub json: String,
    pub crcs: Vec<u8>,
    /// The first event holds a newline: nothing may join it.
    alone: bool,
}

impl Row {
    /// Adds the event if it may join the row; false when it must start a new one.
    pub fn push(&mut self, seq: u64, json: &str) -> bool {
        self.push_checked(seq, json, checksum(json))
    }

    /// [`Row::push`] with the event's checksum as stored (copied, not recomputed: a text that
    /// changed on disk must still read as damaged).
    pub fn push_checked(&mut self, seq: u64, json: &str, crc: u32) -> bool {
        if self.count == 0 {
            self.first = seq;
            self.alone = json.contains('\n');
        } else if self.alone
            || seq != self.first.wrapping_add(self.count)
            || self.json.len() + 1 + json.len() > ROW_BYTES
            || json.contains('\n')
        {
            return false;
        } else {
            self.json.push('\n');
        }
        self.json.push_str(json);
        self.crcs.extend_from_slice(&crc.to_le_bytes());
        self.count += 1;
        true
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Empties the row, keeping its buffers unless an event longer than a row grew them: the
    /// store keeps its row for good, and one 16 MiB event must not stay held as 16 MiB.
    pub fn clear(&mut self) {
        if self.json.capacity() > 2 * ROW_BYTES {
            self.json = String::new();
        }
        self.count = 0;
        self.json.clear();
        self.crcs.clear();
        self.alone = false;
    }
}

/// One event of a row read back: its text and whether it matches its checksum (a text that
/// does not is empty when it is not even UTF-8).
#[derive(Debug, PartialEq, Eq)]
pub struct Part<'a> {
    pub json: &'a str,
    pub intact: bool,
}

/// A row read back, cut into its events. Bytes, not a string: SQLite checks the structure of
/// its pages, not the bytes of a long text's overflow pages, so a damaged one reads back as
/// anything; that damages the events it holds, not the others of the row. An error (in words)
/// when the row's own shape does not hold: its count, its checksums' length or its lines.
pub fn split<'a>(count: u64, json: &'a [u8], crcs: &[u8]) -> Result<Vec<Part<'a>>, String> {
    if count == 0 {
        return Err("holds no events".into());
    }
    let n = usize::try_from(count).map_err(|_| format!("says it holds {count} events"))?;
    if crcs.len() != n.saturating_mul(4) {
        return Err(format!(
            "has {} bytes of checksums for {count} events",
            crcs.len()
        ));
    }
    let mut parts = Vec::with_capacity(n);
    let mut lines = json.split(|&b| b == b'\n');
    for (i, crc) in crcs.chunks_exact(4).enumerate() {
        // A row of one event is that event whole, newline or not.
        let text = if n == 1 { Some(json) } else { lines.next() };
        let Some(text) = text else {
            return Err(format!("holds {i} lines for {count} events"));
        };
        let want = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        // Written as UTF-8: bytes that match their checksum are, unless changed to a collision.
        let (json, intact) = match std::str::from_utf8(text) {
            Ok(s) => (s, checksum(s) == want),
            Err(_) => ("", false),
        };
        parts.push(Part { json, intact });
    }
    if n > 1 && lines.next().is_some() {
        return Err(format!("holds more lines than its {count} events"));
    }
    Ok(parts)
}

/// The checksums of a row of the snapshot table (one event, its CRC-32 as an integer) in a
/// row's terms: a value that is no CRC-32 gives none, so the row reads as damaged.
pub fn crc_bytes(crc: i64) -> Vec<u8> {
    u32::try_from(crc).map_or_else(|_| Vec::new(), |c| c.to_le_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows built from `events` numbered from `first`.
    fn rows(first: u64, events: &[&str]) -> Vec<Row> {
        let mut out = vec![Row::default()];
        for (i, json) in events.iter().enumerate() {
            let seq = first + i as u64;
            if !out.last_mut().is_some_and(|r| r.push(seq, json)) {
                let mut row = Row::default();
                assert!(row.push(seq, json), "a new row takes any event");
                out.push(row);
            }
        }
        out
    }

    fn read(row: &Row) -> Vec<String> {
        let parts =
            split(row.count, row.json.as_bytes(), &row.crcs).expect("a row as written reads");
        assert!(parts.iter().all(|p| p.intact));
        parts.into_iter().map(|p| p.json.to_owned()).collect()
    }

    #[test]
    fn events_read_back_from_their_rows_as_written() {
        let big = format!("{{\"x\":\"{}\"}}", "y".repeat(ROW_BYTES));
        let near = format!("{{\"x\":\"{}\"}}", "y".repeat(ROW_BYTES / 2));
        let cases: Vec<Vec<&str>> = vec![
            vec!["{}"],
            vec!["{\"a\":1}", "{\"b\":2}", "{}"],
            // A newline inside an event: alone in its row, before and after others.
            vec!["{}", "{\"a\":\n1}", "{}", "{}"],
            vec!["{\"a\":\n1}", "{}"],
            // Larger than a row alone, and two that do not fit together.
            vec!["{}", &big, "{}"],
            vec![&near, &near, &near],
        ];
        for events in cases {
            let built = rows(7, &events);
            let mut seq = 7;
            let mut back = Vec::new();
            for row in &built {
                assert_eq!(row.first, seq, "rows follow each other");
                seq += row.count;
                assert!(
                    row.count == 1 || row.json.len() <= ROW_BYTES,
                    "a row over the bound holds one event"
                );
                back.extend(read(row));
            }
            assert_eq!(back, events);
        }
    }

    #[test]
    fn a_row_cleared_after_a_large_event_lets_its_memory_go() {
        let mut row = Row::default();
        assert!(row.push(1, &"x".repeat(ROW_BYTES)));
        row.clear();
        assert!(row.json.capacity() <= ROW_BYTES * 2);
        assert!(row.push(2, &"x".repeat(ROW_BYTES * 64)));
        row.clear();
        assert!(
            row.json.capacity() <= ROW_BYTES * 2,
            "{} bytes held",
            row.json.capacity()
        );
        assert!(row.push(3, "{}"), "and it is usable again");
        assert_eq!((row.first, row.count, row.json.as_str()), (3, 1, "{}"));
    }

    #[test]
    fn a_row_takes_only_the_next_number_and_nothing_after_a_newline() {
        let mut row = Row::default();
        assert!(row.push(3, "{}"));
        assert!(!row.push(5, "{}"), "a hole starts a new row");
        assert!(!row.push(3, "{}"), "the same number again");
        assert!(row.push(4, "{}"));
        assert!(!row.push(5, "{\n}"), "a newline joins nothing");
        let mut alone = Row::default();
        assert!(alone.push(1, "{\n}"));
        assert!(!alone.push(2, "{}"), "nothing joins a newline");
        // Exactly at the bound: joins; one byte over: does not.
        let mut full = Row::default();
        assert!(full.push(1, "{}"));
        let fits = "x".repeat(ROW_BYTES - 3);
        assert!(full.push(2, &fits), "{} bytes", full.json.len());
        assert_eq!(full.json.len(), ROW_BYTES);
        let mut over = Row::default();
        assert!(over.push(1, "{}"));
        assert!(!over.push(2, &"x".repeat(ROW_BYTES - 2)));
    }

    #[test]
    fn a_changed_byte_damages_its_own_event_only() {
        let built = rows(1, &["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
        let row = &built[0];
        let changed = row.json.replace("\"b\":2", "\"b\":3");
        let parts = split(row.count, changed.as_bytes(), &row.crcs).expect("the shape holds");
        let intact: Vec<bool> = parts.iter().map(|p| p.intact).collect();
        assert_eq!(intact, [true, false, true]);
        let mut crcs = row.crcs.clone();
        crcs[8] ^= 1;
        let parts = split(row.count, row.json.as_bytes(), &crcs).expect("the shape holds");
        let intact: Vec<bool> = parts.iter().map(|p| p.intact).collect();
        assert_eq!(intact, [true, true, false], "a changed checksum");
    }

    /// A damaged page of a row's text can hold bytes that are not UTF-8: the event they
    /// fall in is damaged, the others read.
    #[test]
    fn bytes_that_are_not_utf8_damage_their_own_event_only() {
        let built = rows(1, &["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
        let row = &built[0];
        let mut bytes = row.json.clone().into_bytes();
        let at = row.json.find("\"b\"").expect("b");
        bytes[at] = 0xA5;
        let parts = split(row.count, &bytes, &row.crcs).expect("the shape holds");
        let read: Vec<(&str, bool)> = parts.iter().map(|p| (p.json, p.intact)).collect();
        assert_eq!(
            read,
            [("{\"a\":1}", true), ("", false), ("{\"c\":3}", true)]
        );
    }

    #[test]
    fn a_row_whose_shape_does_not_hold_is_an_error() {
        let built = rows(1, &["{}", "{}", "{}"]);
        let row = &built[0];
        assert!(split(row.count, row.json.as_bytes(), &row.crcs).is_ok());
        for (count, json, crcs, says) in [
            (0, row.json.clone(), vec![], "holds no events"),
            (4, row.json.clone(), row.crcs.clone(), "bytes of checksums"),
            (
                3,
                row.json.clone(),
                row.crcs[..11].to_vec(),
                "bytes of checksums",
            ),
            (3, "{}\n{}".into(), row.crcs.clone(), "holds 2 lines"),
            (3, "{}\n{}\n{}\n".into(), row.crcs.clone(), "more lines"),
            (2, "{}\n{}\n{}".into(), row.crcs[..8].to_vec(), "more lines"),
        ] {
            match split(count, json.as_bytes(), &crcs) {
                Err(e) => assert!(e.contains(says), "{e}"),
                Ok(_) => panic!("{count} events, {json:?}, {} bytes read", crcs.len()),
            }
        }
    }

    #[test]
    fn a_snapshot_rows_checksum_reads_as_a_rows() {
        let json = "{\"a\":1}";
        let crc = i64::from(checksum(json));
        let json = json.as_bytes();
        let parts = split(1, json, &crc_bytes(crc)).expect("reads");
        assert!(parts[0].intact);
        assert!(!split(1, json, &crc_bytes(crc + 1)).expect("reads")[0].intact);
        assert!(split(1, json, &crc_bytes(-1)).is_err());
        assert!(split(1, json, &crc_bytes(1 << 32)).is_err());
    }
}
