//! B11, B4 again at 100 MB: one JSON span of 100 MB, streamed into the runtime in pieces (a
//! message is at most 16 MiB), then opened in a panel as a snapshot; vanilla-jsoneditor, which
//! claims 512 MB documents, opens the same file in the same run.

use super::streaming::{document, streamed_json};
use super::{empty_panel_memory, get, ms_or_not, page, Cx, Row};
use crate::runtime::Runtime;
use crate::util::Result;

/// Rows of B4's shape (about 100 bytes each): just over 100 MB.
const ROWS: u64 = 1_020_000;
/// Bytes of document per `json_append` (escaped, about 4.6 MB a message).
const PIECE: usize = 4 << 20;

pub(super) fn b11(cx: &Cx, rows: &mut Vec<Row>) -> Result {
    let doc = document(ROWS);
    let size = doc.len();
    let mb = size as f64 / 1e6;
    let (events, n) = streamed_json(&cx.data, "b11-json-pieces.jsonl", &doc, PIECE, u64::MAX)?;
    let doc_file = cx.data.join("b11.json");
    std::fs::write(&doc_file, &doc).map_err(|e| format!("write {}: {e}", doc_file.display()))?;
    drop(doc);
    println!(
        "\n==> B11 one {mb:.1} MB JSON span, streamed into the runtime in {} pieces",
        n - 2
    );
    let rt = Runtime::start("native")?;
    rt.replay(&events, 0.0)?;
    let empty = empty_panel_memory(cx.browser, &cx.site)?;
    cx.profiler.start()?;
    cx.browser.open(&cx.url("panel.html", &rt))?;
    let shown = format!("[{ROWS} items]");
    let f = page(
        cx.browser,
        &format!(
            "const shown = () => [...document.querySelectorAll('.utp-json-row')].some((r) => r.textContent.includes('{shown}'));
             const paint = await bench.until(shown, 60000).then(() => performance.now(), () => -1);
             const [msgStart, msgEnd] = bench.handled.reduce((a, h) => h[1] - h[0] > a[1] - a[0] ? h : a, [0, 0]);
             return `paint=${{paint}};mem=${{wasmMemory()}};wasm=${{wasmReady}};msgStart=${{msgStart}};msgEnd=${{msgEnd}}`;"
        ),
    )?;
    cx.profiler.stop("b11")?;
    drop(rt);
    println!(
        "    timeline: wasm ready {:.0} ms, largest message handled {:.0}–{:.0}, paint {:.0}",
        get(&f, "wasm"),
        get(&f, "msgStart"),
        get(&f, "msgEnd"),
        get(&f, "paint")
    );
    // The peer, on the same document as a file. Its memory is the JavaScript heap's (Chromium's
    // `performance.memory`), after the page's own.
    cx.browser.open(&format!(
        "http://{}/bench/jsoneditor.html?file=b11.json",
        cx.site
    ))?;
    let p = page(
        cx.browser,
        "const heap = () => performance.memory ? performance.memory.usedJSHeapSize : NaN;
         const shown = () => document.querySelector('#editor')?.textContent.includes('rows');
         const paint = await bench.until(shown, 120000).then(() => performance.now(), () => -1);
         return `paint=${paint};heap=${heap()}`;",
    )?;
    let paint = get(&f, "paint");
    let peer = get(&p, "paint");
    rows.push(Row {
        scenario: "B11",
        what: format!(
            "{mb:.1} MB JSON span (B4 again), streamed in {} pieces: first paint from navigation, panel (via the runtime's snapshot)",
            n - 2
        ),
        figure: format!(
            "{} (wasm ready {:.0}; largest message handled {:.0}–{:.0})",
            ms_or_not(paint, 60),
            get(&f, "wasm"),
            get(&f, "msgStart"),
            get(&f, "msgEnd")
        ),
        target: "≤ 1.5 s".into(),
    });
    rows.push(Row {
        scenario: "B11",
        what: "same document, vanilla-jsoneditor (fetched as a file, top level shown; its JavaScript heap)".into(),
        figure: format!(
            "{} (panel / peer: {:.2}x); {:.0} MB heap",
            ms_or_not(peer, 120),
            paint / peer,
            get(&p, "heap") / 1e6
        ),
        target: String::new(),
    });
    rows.push(Row {
        scenario: "B11",
        what: "wasm memory added by the span, over the JSON size (includes the decoding peak: wasm memory never shrinks)".into(),
        figure: format!("{:.2}x", (get(&f, "mem") - empty) / size as f64),
        target: "≤ 1.5x".into(),
    });
    Ok(())
}
