//! The durable journal: every accepted event, one JSON line each, replayed at start.
//!
//! Format: a first line `{"session":"…"}`, then `{"seq":N,"event":{…}}` per event. A last line
//! cut short by a crash is ignored (its event was never acknowledged).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

pub struct Journal {
    file: BufWriter<File>,
}

/// What a journal held when opened.
pub struct Replay {
    pub session: String,
    /// `(seq, event JSON)` in order.
    pub events: Vec<(u64, String)>,
}

#[derive(Deserialize)]
struct Header {
    session: String,
}

#[derive(Deserialize)]
struct Line<'a> {
    seq: u64,
    #[serde(borrow)]
    event: &'a RawValue,
}

impl Journal {
    /// Opens (or creates, with `new_session`) the journal at `path`.
    pub fn open(path: &Path, new_session: &str) -> std::io::Result<(Journal, Replay)> {
        let mut replay = Replay {
            session: new_session.to_owned(),
            events: Vec::new(),
        };
        let existing = match File::open(path) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let mut valid_len = 0u64;
        if let Some(f) = existing {
            let mut reader = BufReader::new(f);
            let mut line = String::new();
            let mut first = true;
            loop {
                line.clear();
                let n = reader.read_line(&mut line)?;
                if n == 0 || !line.ends_with('\n') {
                    break; // end, or a line cut short by a crash
                }
                if first {
                    first = false;
                    match serde_json::from_str::<Header>(&line) {
                        Ok(h) => replay.session = h.session,
                        Err(e) => {
                            return Err(std::io::Error::other(format!(
                                "{} is not a journal (first line: {e})",
                                path.display()
                            )))
                        }
                    }
                } else {
                    match serde_json::from_str::<Line<'_>>(&line) {
                        Ok(l) => replay.events.push((l.seq, l.event.get().to_owned())),
                        Err(_) => break,
                    }
                }
                valid_len += n as u64;
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        // Drop a torn last line so that the next append starts on a line of its own.
        file.set_len(valid_len)?;
        let mut journal = Journal {
            file: BufWriter::new(file),
        };
        if valid_len == 0 {
            let header = serde_json::json!({ "session": replay.session });
            writeln!(journal.file, "{header}")?;
            journal.file.flush()?;
        }
        Ok((journal, replay))
    }

    pub fn append(&mut self, seq: u64, event_json: &str) -> std::io::Result<()> {
        writeln!(self.file, r#"{{"seq":{seq},"event":{event_json}}}"#)
    }

    /// Called before acknowledging: what was acknowledged is in the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}
