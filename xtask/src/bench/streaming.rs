//! B9 and B10: what streams in while the panel is open. B9 is many text streams beside a
//! firehose; B10 is one large JSON document arriving in small pieces.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{event, frame_work, get, open_ready, over_floor, page, Cx, Row, SLOW};
use crate::runtime::Runtime;
use crate::util::Result;

/// Writes `lines` to `dir/name`, one event per line.
fn write_lines(
    dir: &Path,
    name: &str,
    lines: impl FnOnce(&mut dyn FnMut(String) -> std::io::Result<()>) -> std::io::Result<()>,
) -> Result<PathBuf> {
    let file = dir.join(name);
    let created = std::fs::File::create(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut out = std::io::BufWriter::new(created);
    let mut line = |l: String| writeln!(out, "{l}");
    lines(&mut line)
        .and_then(|()| out.flush())
        .map_err(|e| format!("write {}: {e}", file.display()))?;
    Ok(file)
}

/// The tokens of B9's streams, each sent after a space, in turn.
const WORDS: [&str; 8] = [
    "the", "model", "streams", "tokens,", "one", "by", "one", "and",
];

/// B9's stream: `streams` text spans in one trace, each given a token every `1 / per_stream`
/// s, interleaved with `firehose` appends/s spread over `spans` text spans in another trace,
/// for `secs` s. Returns the file, the events and each stream's final text length.
fn streams_and_firehose(
    dir: &Path,
    streams: u64,
    per_stream: u64,
    firehose: u64,
    spans: u64,
    secs: u64,
) -> Result<(PathBuf, u64, usize)> {
    let t0 = 1_700_000_000_000_000u64;
    let mut n = 0u64;
    // One tick per firehose event; a token falls due every `firehose / (streams * per_stream)`
    // ticks, to the streams in turn.
    let tokens_every = firehose / (streams * per_stream);
    let file = write_lines(dir, "b9-streams.jsonl", |line| {
        let mut emit = |ts: u64, rest: String| {
            n += 1;
            line(event(&format!("e{n}"), ts, &rest))
        };
        // The firehose's trace first: the streams are the newest trace, shown last, where the
        // panel follows.
        emit(
            t0,
            r#""op":"trace_start","trace":"fire","name":"firehose""#.into(),
        )?;
        for s in 0..spans {
            emit(
                t0,
                format!(
                    r#""op":"span_create","trace":"fire","span":"f{s}","kind":"text","content":"span {s}""#
                ),
            )?;
        }
        emit(
            t0 + 1,
            r#""op":"trace_start","trace":"streams","name":"20 answers""#.into(),
        )?;
        for s in 0..streams {
            emit(
                t0 + 1,
                format!(
                    r#""op":"span_create","trace":"streams","span":"s{s}","kind":"text","title":"answer {s}","content":"Answer:""#
                ),
            )?;
        }
        for i in 0..firehose * secs {
            let ts = t0 + 1_000_000 + i * 1_000_000 / firehose;
            emit(
                ts,
                format!(r#""op":"text_append","span":"f{}","text":" x""#, i % spans),
            )?;
            if i % tokens_every == 0 {
                let k = i / tokens_every;
                emit(
                    ts,
                    format!(
                        r#""op":"text_append","span":"s{}","text":" {}""#,
                        k % streams,
                        WORDS[(k / streams % WORDS.len() as u64) as usize]
                    ),
                )?;
            }
        }
        Ok(())
    })?;
    // Each stream's text: the tokens it was given, in order.
    let per = firehose * secs / tokens_every / streams;
    let text = "Answer:".len()
        + (0..per)
            .map(|r| 1 + WORDS[(r % WORDS.len() as u64) as usize].len())
            .sum::<usize>();
    Ok((file, n, text))
}

/// B10's and B11's document: a JSON object of `rows` rows (B4's rows), about 100 bytes each.
pub(super) fn document(rows: u64) -> String {
    let mut doc = String::from(r#"{"meta":{"source":"bench"},"rows":["#);
    for i in 0..rows {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&format!(r#"{{"id":{i},"name":"item {i}","score":0.123456789012345678901,"tags":["alpha","beta"],"ok":true}}"#));
    }
    doc.push_str("]}");
    doc
}

/// B10's and B11's stream, into `dir/name`: `doc` as `json_append` pieces of `piece` bytes at
/// `rate` bytes/s, the last one `done`. Returns the file and the number of events.
pub(super) fn streamed_json(
    dir: &Path,
    name: &str,
    doc: &str,
    piece: usize,
    rate: u64,
) -> Result<(PathBuf, u64)> {
    let t0 = 1_700_000_000_000_000u64;
    let mut n = 0u64;
    let file = write_lines(dir, name, |line| {
        let mut emit = |ts: u64, rest: String| {
            n += 1;
            line(event(&format!("e{n}"), ts, &rest))
        };
        emit(
            t0,
            r#""op":"trace_start","trace":"t","name":"streamed JSON""#.into(),
        )?;
        emit(
            t0,
            r#""op":"span_create","trace":"t","span":"j","kind":"json","title":"structured output""#.into(),
        )?;
        // The document is ASCII, so any byte offset is a character boundary.
        let pieces = doc.as_bytes().chunks(piece);
        let count = pieces.len() as u64;
        for (i, p) in pieces.enumerate() {
            let text = std::str::from_utf8(p).unwrap_or_default();
            let text = text.replace('\\', "\\\\").replace('"', "\\\"");
            let ts = t0 + 1_000_000 + i as u64 * piece as u64 * 1_000_000 / rate;
            let done = if i as u64 + 1 == count {
                r#","done":true"#
            } else {
                ""
            };
            emit(
                ts,
                format!(r#""op":"json_append","span":"j","text":"{text}"{done}"#),
            )?;
        }
        Ok(())
    })?;
    Ok((file, n))
}

/// What a page returns after a stream: frame work, the time from the last event sent until
/// `caught_up` held (-1: not within a minute), the wasm memory, and `shown`, a JavaScript
/// number read at the end.
fn measure_stream(
    cx: &Cx,
    rt: &Runtime,
    file: &Path,
    caught_up: &str,
    shown: &str,
) -> Result<(Vec<(String, f64)>, f64)> {
    page(cx.browser, "bench.start(); return 'ok=1';")?;
    cx.profiler.start()?;
    let started = Instant::now();
    rt.replay(file, 1.0)?;
    let sent = started.elapsed().as_secs_f64();
    let f = page(
        cx.browser,
        &format!(
            "const behind = await bench.until(() => {caught_up}, 60000).catch(() => -1);
             const s = bench.stop();
             return `p50=${{s.p50}};p95=${{s.p95}};max=${{s.max}};longTasks=${{s.longTasks}};slowScript=${{s.slowScript}};slowRender=${{s.slowRender}};catchup=${{behind}};mem=${{wasmMemory()}};shown=${{{shown}}}`;"
        ),
    )?;
    Ok((f, sent))
}

/// The JavaScript test that the status bar counts `n` events.
fn counted(n: u64) -> String {
    format!("(document.querySelector('.utp-counters')?.textContent || '').startsWith('{n} events')")
}

/// B9: 20 text spans streaming 100 tokens/s each beside a firehose of 10,000 appends/s.
pub(super) fn b9(cx: &Cx, rows: &mut Vec<Row>) -> Result {
    let (streams, per_stream, rate, spans) = (20, 100, 10_000, 5_000);
    let secs = cx.secs;
    let (file, events, text) =
        streams_and_firehose(&cx.data, streams, per_stream, rate, spans, secs)?;
    println!("\n==> B9 {streams} text streams at {per_stream} tokens/s beside a firehose of {rate}/s, {secs} s");
    let rt = Runtime::start("native")?;
    open_ready(cx.browser, &cx.url("panel.html", &rt))?;
    // The streams in view (the panel mounts only the rows on screen) that show all their text.
    let whole =
        format!("[...document.querySelectorAll('.utp-text')].filter((t) => t.textContent.length === {text}).length");
    let (f, sent) = measure_stream(cx, &rt, &file, &counted(events), &whole)?;
    cx.profiler.stop("b9")?;
    // The baseline: the same DOM changes by plain script, for as many frames as the stream
    // (60 a second: longer than WebDriver's default 30 s for a script).
    cx.browser.script_timeout(300)?;
    let words: Vec<String> = WORDS.iter().map(|w| format!("' {w}'")).collect();
    let floor = page(
        cx.browser,
        &format!(
            "const s = await bench.streamStatic({{ frames: {frames}, tokens: {tokens}, streams: {streams}, words: [{words}], start: 'Answer:' }});
             return `p50=${{s.p50}};p95=${{s.p95}};texts=${{s.texts}}`;",
            frames = secs * 60,
            tokens = (streams * per_stream) as f64 / 60.0,
            words = words.join(","),
        ),
    )?;
    rows.push(Row {
        scenario: "B9",
        what: format!("{streams} text streams × {per_stream} tokens/s beside {rate} appends/s over {spans} spans, {secs} s ({sent:.1} s to send): frame work p50 / p95 / max; {SLOW}"),
        figure: frame_work(&f),
        target: "p95 ≤ 6 ms".into(),
    });
    rows.push(Row {
        scenario: "B9",
        what: format!("baseline: the panel's DOM changes for the {} streams it had mounted (appends, each text to its end unless off screen, the tree to its bottom) by plain script, {} frames: frame work p50 / p95; panel / baseline p50; p95", get(&floor, "texts"), secs * 60),
        figure: over_floor(&floor, (get(&f, "p50"), get(&f, "p95"))),
        target: "report".into(),
    });
    rows.push(Row {
        scenario: "B9",
        what: format!("backlog: time from the last event sent until all {events} are applied ({} streams in view, each with its whole text)", get(&f, "shown")),
        figure: super::ms_or_not(get(&f, "catchup"), 60),
        target: "no backlog".into(),
    });
    Ok(())
}

/// B10: a 20 MB JSON document arriving in 1 KB pieces at 5 MB/s, shown at its top level.
pub(super) fn b10(cx: &Cx, rows: &mut Vec<Row>) -> Result {
    let (doc_rows, piece, rate) = (200_000, 1_024, 5_000_000);
    let doc = document(doc_rows);
    let (file, events) = streamed_json(&cx.data, "b10-json-stream.jsonl", &doc, piece, rate)?;
    let mb = doc.len() as f64 / 1e6;
    println!(
        "\n==> B10 a {mb:.1} MB JSON document in {piece}-byte pieces at {:.0} MB/s",
        rate as f64 / 1e6
    );
    let rt = Runtime::start("native")?;
    let empty = super::empty_panel_memory(cx.browser, &cx.site)?;
    open_ready(cx.browser, &cx.url("panel.html", &rt))?;
    // Done when the document's array shows as closed. Not by the event count: a panel that
    // falls behind the runtime's queue is sent a snapshot, which holds the pieces as one.
    let done = format!(
        "[...document.querySelectorAll('.utp-json-row')].some((r) => r.textContent.includes('[{doc_rows} items]'))"
    );
    let applied = "parseInt(document.querySelector('.utp-counters')?.textContent ?? '', 10) || 0";
    let (f, sent) = measure_stream(cx, &rt, &file, &done, applied)?;
    cx.profiler.stop("b10")?;
    drop(rt);
    // The floor: the same stream into a page that receives and parses it and shows nothing,
    // from a fresh runtime (the same events again would be duplicates).
    let rt = Runtime::start("native")?;
    open_ready(cx.browser, &cx.url("receive.html", &rt))?;
    page(cx.browser, "bench.start(); return 'ok=1';")?;
    rt.replay(&file, 1.0)?;
    let floor = page(
        cx.browser,
        "await bench.until(() => streamDone(), 60000);
         const s = bench.stop();
         return `p50=${s.p50};p95=${s.p95};events=${received()}`;",
    )?;
    rows.push(Row {
        scenario: "B10",
        what: format!("{mb:.1} MB JSON in {} pieces ({sent:.1} s to send), top level shown, until it is all shown: frame work p50 / p95 / max; {SLOW}", events - 2),
        figure: frame_work(&f),
        target: "p95 ≤ 8 ms".into(),
    });
    rows.push(Row {
        scenario: "B10",
        what: format!(
            "floor: the same stream received as the panel receives it and parsed (`JSON.parse`, {:.0} events), nothing shown: frame work p50 / p95; panel / floor p50; p95",
            get(&floor, "events")
        ),
        figure: over_floor(&floor, (get(&f, "p50"), get(&f, "p95"))),
        target: "report".into(),
    });
    rows.push(Row {
        scenario: "B10",
        what: format!(
            "time from the last piece sent until the whole document is shown (validated, its row count; {} of {events} events counted: fewer when the panel fell behind and was sent a snapshot)",
            get(&f, "shown"),
        ),
        figure: super::ms_or_not(get(&f, "catchup"), 60),
        target: "no backlog".into(),
    });
    rows.push(Row {
        scenario: "B10",
        what: format!(
            "wasm memory added, over the document's size (loaded: {:.1} MB; wasm memory never shrinks)",
            get(&f, "mem") / 1e6
        ),
        figure: format!("{:.2}x", (get(&f, "mem") - empty) / doc.len() as f64),
        target: "≤ 2x".into(),
    });
    Ok(())
}
