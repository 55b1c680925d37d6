//! `cargo xtask bench`: the browser benchmark. The release panel (the JavaScript package) runs
//! in headless Chromium against a real runtime on loopback fed with recorded event streams
//! (`user-trace-demo replay`); the page measures itself (`bench/harness.js`). Baselines run in
//! the same process and the same browser. The results replace the generated table in
//! BENCHMARKS.md. Never part of the test command.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::browser::{serve, Browser, Kind};
use crate::runtime::{js_package, Runtime};
use crate::setup;
use crate::util::{cargo, cmd, root, Result};

mod huge_json;
mod streaming;

const START: &str = "<!-- browser-bench:start -->";
const END: &str = "<!-- browser-bench:end -->";
/// The Firefox run's table (`--browser firefox`), beside the Chromium figures.
const FIREFOX_START: &str = "<!-- browser-bench-firefox:start -->";
const FIREFOX_END: &str = "<!-- browser-bench-firefox:end -->";

fn event(id: &str, ts: u64, rest: &str) -> String {
    format!(r#"{{"id":"{id}","process":"bench@loopback","ts":{ts},{rest}}}"#)
}

/// B1's tokens, in turn.
const B1_WORDS: [&str; 10] = [
    "the", "model", "streams", "tokens,", "one", "by", "one", "and", "so", "on.",
];

/// B1: one text span, `rate` tokens/s for `secs` s. Returns the file and the final text's length.
fn token_stream(dir: &Path, rate: u64, secs: u64) -> Result<(PathBuf, usize)> {
    let t0 = 1_700_000_000_000_000u64;
    let mut out = String::new();
    let mut len = "Answer:".len();
    out.push_str(&event(
        "t",
        t0,
        r#""op":"trace_start","trace":"t","name":"token stream""#,
    ));
    out.push('\n');
    out.push_str(&event(
        "s",
        t0 + 1,
        r#""op":"span_create","trace":"t","span":"s","kind":"text","content":"Answer:""#,
    ));
    out.push('\n');
    for i in 0..rate * secs {
        let token = format!(" {}", B1_WORDS[(i % 10) as usize]);
        len += token.len();
        let ts = t0 + 2 + i * 1_000_000 / rate;
        out.push_str(&event(
            &format!("a{i}"),
            ts,
            &format!(r#""op":"text_append","span":"s","text":"{token}""#),
        ));
        out.push('\n');
    }
    let file = dir.join("b1-tokens.jsonl");
    std::fs::write(&file, out).map_err(|e| format!("write {}: {e}", file.display()))?;
    Ok((file, len))
}

/// B2: `spans` text spans, then `rate` appends/s across them for `secs` s.
fn firehose(dir: &Path, spans: u64, rate: u64, secs: u64) -> Result<(PathBuf, u64)> {
    let t0 = 1_700_000_000_000_000u64;
    let mut out = String::new();
    out.push_str(&event(
        "t",
        t0,
        r#""op":"trace_start","trace":"t","name":"firehose""#,
    ));
    out.push('\n');
    for s in 0..spans {
        out.push_str(&event(
            &format!("s{s}"),
            t0 + 1,
            &format!(
                r#""op":"span_create","trace":"t","span":"s{s}","kind":"text","content":"span {s}""#
            ),
        ));
        out.push('\n');
    }
    let appends = rate * secs;
    for i in 0..appends {
        let ts = t0 + 1_000_000 + i * 1_000_000 / rate;
        out.push_str(&event(
            &format!("a{i}"),
            ts,
            &format!(r#""op":"text_append","span":"s{}","text":" x""#, i % spans),
        ));
        out.push('\n');
    }
    let file = dir.join("b2-firehose.jsonl");
    std::fs::write(&file, out).map_err(|e| format!("write {}: {e}", file.display()))?;
    Ok((file, 1 + spans + appends))
}

/// B3/B7: one trace of `spans` small text spans.
fn many_spans(dir: &Path, spans: u64) -> Result<PathBuf> {
    let t0 = 1_700_000_000_000_000u64;
    let mut out = String::new();
    out.push_str(&event(
        "t",
        t0,
        r#""op":"trace_start","trace":"t","name":"many spans""#,
    ));
    out.push('\n');
    for s in 0..spans {
        out.push_str(&event(
            &format!("s{s}"),
            t0 + 1 + s,
            &format!(
                r#""op":"span_create","trace":"t","span":"s{s}","kind":"text","content":"row {s}""#
            ),
        ));
        out.push('\n');
    }
    let file = dir.join("b3-spans.jsonl");
    std::fs::write(&file, out).map_err(|e| format!("write {}: {e}", file.display()))?;
    Ok(file)
}

/// B8: `traces` ended traces of `per` small spans each, text, JSON and items in turn (the mix
/// of the model's memory test). Returns the file and the number of events.
fn many_traces(dir: &Path, traces: u64, per: u64) -> Result<(PathBuf, u64)> {
    use std::io::Write as _;
    let file = dir.join(format!("b8-{traces}x{per}.jsonl"));
    let created = std::fs::File::create(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut out = std::io::BufWriter::new(created);
    let mut n = 0u64;
    let t0 = 1_700_000_000_000_000u64;
    let mut line = |out: &mut std::io::BufWriter<std::fs::File>, rest: String| {
        n += 1;
        writeln!(out, "{}", event(&format!("e{n}"), t0 + n, &rest))
    };
    let mut write = || -> std::io::Result<()> {
        for t in 0..traces {
            line(
                &mut out,
                format!(r#""op":"trace_start","trace":"t{t}","name":"request {t}""#),
            )?;
            for s in 0..per {
                let span = match s % 3 {
                    0 => format!(
                        r#""kind":"text","title":"step {s}","content":"token {s} of the answer""#
                    ),
                    1 => format!(
                        r#""kind":"json","title":"result","content":{{"id":{s},"ok":true}}"#
                    ),
                    _ => format!(
                        r#""kind":"items","title":"usage","content":[{{"name":"tokens","value":{s}}}]"#
                    ),
                };
                line(
                    &mut out,
                    format!(r#""op":"span_create","trace":"t{t}","span":"t{t}s{s}",{span}"#),
                )?;
                line(
                    &mut out,
                    format!(r#""op":"span_end","span":"t{t}s{s}","status":"ok""#),
                )?;
            }
            line(
                &mut out,
                format!(r#""op":"trace_end","trace":"t{t}","status":"ok""#),
            )?;
        }
        out.flush()
    };
    write().map_err(|e| format!("write {}: {e}", file.display()))?;
    Ok((file, traces * (2 * per + 2)))
}

/// B4: a 10 MB JSON document, as a JSON Lines file of events (one JSON span) for the panel and
/// as `b4.json` for the peers.
fn big_json(dir: &Path) -> Result<(PathBuf, usize)> {
    let rows: Vec<String> = (0..100_000)
        .map(|i| format!(r#"{{"id":{i},"name":"item {i}","score":0.123456789012345678901,"tags":["alpha","beta"],"ok":true}}"#))
        .collect();
    let doc = format!(
        r#"{{"meta":{{"source":"bench"}},"rows":[{}]}}"#,
        rows.join(",")
    );
    let t0 = 1_700_000_000_000_000u64;
    let events = format!(
        "{}\n{}\n",
        event(
            "t",
            t0,
            r#""op":"trace_start","trace":"t","name":"big JSON""#
        ),
        event(
            "j",
            t0 + 1,
            &format!(r#""op":"span_create","trace":"t","span":"j","kind":"json","content":{doc}"#)
        ),
    );
    let events_file = dir.join("b4-json.jsonl");
    let doc_file = dir.join("b4.json");
    std::fs::write(&events_file, events)
        .map_err(|e| format!("write {}: {e}", events_file.display()))?;
    std::fs::write(&doc_file, &doc).map_err(|e| format!("write {}: {e}", doc_file.display()))?;
    Ok((events_file, doc.len()))
}

/// Installs the JSON viewers B4 compares with (npm registry, versions pinned in
/// bench/package.json and package-lock.json) and bundles the React one with esbuild.
pub fn peers() -> Result {
    let bench = root().join("bench");
    if !bench.join("node_modules/binaryen").exists() {
        println!(
            "\n[setup] installing the JSON viewers B4 compares with (npm, into bench/node_modules)"
        );
        cmd(
            "npm",
            &[
                "ci",
                "--no-audit",
                "--no-fund",
                "--prefix",
                &bench.to_string_lossy(),
            ],
        )
        .run("npm ci (bench/package-lock.json)")?;
    }
    cmd(
        &bench.join("node_modules/.bin/esbuild").to_string_lossy(),
        &[
            &bench.join("rjvl-entry.js").to_string_lossy(),
            "--bundle",
            "--format=esm",
            "--minify",
            "--define:process.env.NODE_ENV=\"production\"",
            &format!(
                "--outfile={}",
                bench.join("rjvl-bundle.js").to_string_lossy()
            ),
        ],
    )
    .run("bundle react-json-view-lite's page")
}

/// wasm-opt's flags for the release wasm. Inlining is off: it shrinks the raw module by 10% but
/// grows the gzip by 12% (inlined copies compress worse than the calls they replace). The
/// features are named, as rustc enables them, rather than read from the `target_features`
/// section, which is stripped with the names (wasm-bindgen has read it by then).
/// `--gufa` (whole-program flow analysis, then -O2 again on what it simplified) takes 0.35 KB
/// off the gzip; `--code-folding` before it (one copy of identical code tails) 0.1 KB.
const WASM_OPT: &[&str] = &[
    "-O2",
    "--code-folding",
    "--gufa",
    "-O2",
    "-aimfs",
    "0",
    "-ocimfs",
    "0",
    "-fimfs",
    "0",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
    "--strip-debug",
    "--strip-producers",
    "--strip-target-features",
];

/// Shrinks the release wasm in place with binaryen 132 from npm (bench/package.json): Debian's
/// binaryen 108 points wasm-bindgen's externref table export at the function table, and the
/// module fails to start.
pub fn shrink(wasm: &Path) -> Result {
    let wasm_opt = root().join("bench/node_modules/.bin/wasm-opt");
    let wasm = wasm.to_string_lossy();
    let mut args = WASM_OPT.to_vec();
    args.extend(["-o", &wasm, &wasm]);
    cmd(&wasm_opt.to_string_lossy(), &args).run("shrink the release wasm (wasm-opt)")
}

/// What [`slow`] shows.
const SLOW: &str = "slowest 5% of frames: script + rendering";

/// The slowest 5% of frames' mean script time (handlers, rAF and observer callbacks) and the
/// rest (style, layout, paint).
fn slow(f: &[(String, f64)]) -> String {
    format!(
        "{:.1} + {:.1} ms",
        get(f, "slowScript"),
        get(f, "slowRender")
    )
}

/// Frame work p50 / p95 / max, the long tasks and the slowest frames' split (a streaming
/// scenario's figure).
fn frame_work(f: &[(String, f64)]) -> String {
    format!(
        "{:.2} / {:.2} / {:.1} ms; {} long tasks; {}",
        get(f, "p50"),
        get(f, "p95"),
        get(f, "max"),
        get(f, "longTasks"),
        slow(f)
    )
}

/// A floor's frame work p50 / p95, and the panel's (`p50`, `p95`) over it.
fn over_floor(floor: &[(String, f64)], (p50, p95): (f64, f64)) -> String {
    format!(
        "{:.2} / {:.2} ms; {:.2}x; {:.2}x",
        get(floor, "p50"),
        get(floor, "p95"),
        p50 / get(floor, "p50"),
        p95 / get(floor, "p95")
    )
}

/// `k=v;k=v` from a page, as numbers.
fn fields(s: &str) -> Result<Vec<(String, f64)>> {
    if let Some(e) = s.strip_prefix("fail: ") {
        return Err(format!("the page failed: {e}"));
    }
    Ok(s.split(';')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect())
}

fn get(f: &[(String, f64)], key: &str) -> f64 {
    f.iter()
        .find(|(k, _)| k == key)
        .map_or(f64::NAN, |(_, v)| *v)
}

const STATS: &str = r#"const s = bench.stop(); return `frames=${s.frames};p50=${s.p50};p95=${s.p95};max=${s.max};longTasks=${s.longTasks};longTaskMs=${s.longTaskMs};slowScript=${s.slowScript};slowRender=${s.slowRender}`;"#;

/// Runs `body` (an async function body returning a string) in the page.
fn page(browser: &Browser, body: &str) -> Result<Vec<(String, f64)>> {
    let script = format!(
        "const done = arguments[arguments.length - 1]; (async () => {{ {body} }})().then(done, (e) => done('fail: ' + e.message));"
    );
    fields(&browser.run(&script)?)
}

fn open_ready(browser: &Browser, url: &str) -> Result {
    browser.open(url)?;
    page(
        browser,
        "await bench.until(() => window.ready, 20000); return 'ok=1';",
    )
    .map(drop)
}

/// The wasm memory of a panel that holds nothing, in bytes.
fn empty_panel_memory(browser: &Browser, site: &str) -> Result<f64> {
    browser.open(&format!("http://{site}/bench/panel.html"))?;
    let f = page(
        browser,
        "await bench.until(() => window.ready, 20000); return `mem=${wasmMemory()}`;",
    )?;
    Ok(get(&f, "mem"))
}

fn gzip_size(file: &Path) -> Result<(u64, u64)> {
    let raw = std::fs::metadata(file)
        .map_err(|e| format!("{}: {e}", file.display()))?
        .len();
    let out = std::process::Command::new("gzip")
        .args(["-9", "-c"])
        .arg(file)
        .output()
        .map_err(|e| format!("gzip: {e}"))?;
    Ok((raw, out.stdout.len() as u64))
}

struct Row {
    scenario: &'static str,
    what: String,
    figure: String,
    target: String,
}

/// With `--profile DIR`: CPU profiles of the measured parts of B1 (panel), B2 and B3, in Chrome DevTools'
/// format, with the wasm's function names.
struct Profiler<'a> {
    dir: Option<PathBuf>,
    browser: &'a Browser,
}

impl Profiler<'_> {
    fn start(&self) -> Result {
        if self.dir.is_some() {
            self.browser.cdp("Profiler.enable", "{}")?;
            self.browser
                .cdp("Profiler.setSamplingInterval", r#"{"interval":100}"#)?;
            self.browser.cdp("Profiler.start", "{}")?;
        }
        Ok(())
    }

    fn stop(&self, name: &str) -> Result {
        let Some(dir) = &self.dir else { return Ok(()) };
        let answer = self.browser.cdp("Profiler.stop", "{}")?;
        // {"value":{"profile":{...}}}: the profile object as devtools loads it.
        let profile = answer
            .find(r#""profile":"#)
            .map(|i| &answer[i + 10..answer.len().saturating_sub(2)])
            .ok_or("no profile in the answer")?;
        let file = dir.join(format!("{name}.cpuprofile"));
        std::fs::write(&file, profile).map_err(|e| format!("write {}: {e}", file.display()))?;
        println!("    profile: {}", file.display());
        Ok(())
    }
}

/// What every scenario shares: the browser (and its profiler), the site that serves the pages
/// and the data files, and the streams' length.
struct Cx<'a> {
    browser: &'a Browser,
    profiler: Profiler<'a>,
    site: String,
    data: PathBuf,
    secs: u64,
}

impl Cx<'_> {
    /// A bench page connected to runtime `rt`.
    fn url(&self, page: &str, rt: &Runtime) -> String {
        format!(
            "http://{}/bench/{page}?src=ws://{}/v1/panel",
            self.site, rt.addr
        )
    }
}

pub fn run(args: &[String]) -> Result {
    let mut secs: u64 = 30;
    let mut profile_dir = None;
    let mut only: Option<String> = None;
    let mut kind = Kind::Chromium;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--secs", Some(n)) => secs = n.parse().map_err(|_| "--secs takes a number")?,
            ("--browser", Some(b)) => {
                kind = Kind::parse(b).ok_or("--browser takes chromium or firefox")?
            }
            ("--profile", Some(d)) => profile_dir = Some(PathBuf::from(d)),
            ("--only", Some(list)) => only = Some(list.to_uppercase()),
            _ => {
                return Err("usage: cargo xtask bench [--secs N] [--profile DIR] [--only B1,B4,...] [--browser chromium|firefox]  (stream length, default 30; CPU profiles instead of the table; a subset, printed and not written; the browser, Chromium by default)".into())
            }
        }
    }
    if kind == Kind::Firefox && profile_dir.is_some() {
        return Err(
            "--profile takes Chromium's DevTools profiles: not with --browser firefox".into(),
        );
    }
    // Firefox's run has B1-B4 (and B5, B7, which come with B3) only: B6 is the same files.
    let subset = only.is_some();
    if kind == Kind::Firefox && !subset {
        only = Some("B1,B2,B3,B4".into());
    }
    setup::for_tests()?;
    cargo("build --profile native -p user-trace-runtime -p user-trace-demo")
        .run("build the runtime and the demo's replay (native profile: release, speed first)")?;
    if let Some(dir) = &profile_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // Function names stay in the wasm: wasm-opt, which drops them, is skipped.
    }
    let pkg = js_package(true, "bench-pkg")?;
    peers()?;
    if profile_dir.is_none() {
        shrink(&pkg.join("user_trace_panel_bg.wasm"))?;
    }
    let data = root().join("target/bench-data");
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let site = serve(vec![
        ("/bench/pkg/".into(), pkg.clone()),
        ("/bench/data/".into(), data.clone()),
        ("/bench/".into(), root().join("bench")),
    ])?;
    let browser = Browser::start(kind)?;
    let cx = Cx {
        browser: &browser,
        profiler: Profiler {
            dir: profile_dir.clone(),
            browser: &browser,
        },
        site,
        data,
        secs,
    };
    let mut rows = Vec::new();
    let want = |s: &str| {
        only.as_ref()
            .is_none_or(|o| o.split(',').any(|x| x.trim() == s))
    };

    // B1: token stream, the panel against the practical limit and a naive page.
    if want("B1") {
        b1(&cx, &mut rows)?;
    }

    // B2: firehose.
    if want("B2") {
        b2(&cx, &mut rows)?;
    }

    // B3 + B5 + B7: 100,000 spans loaded at once.
    if want("B3") {
        b3(&cx, &mut rows)?;
    }

    // B4: one 10 MB JSON span, against two JSON viewers from npm.
    if want("B4") {
        b4(&cx, &mut rows)?;
    }

    // B12: cold start, against its floors.
    if want("B12") {
        b12(&cx, &mut rows)?;
    }

    // B8: a million spans.
    if want("B8") {
        b8(&cx, &mut rows)?;
    }

    // B9: many text streams beside a firehose.
    if want("B9") {
        streaming::b9(&cx, &mut rows)?;
    }

    // B10: a large JSON document streamed in pieces.
    if want("B10") {
        streaming::b10(&cx, &mut rows)?;
    }

    // B11: B4 again, 100 MB streamed into one span.
    if want("B11") {
        huge_json::b11(&cx, &mut rows)?;
    }

    // B6: size.
    let b6: &[(&str, &str)] = if want("B6") {
        &[
            ("user_trace_panel_bg.wasm", "≤ 200 KB gzip"),
            ("user_trace_panel.js", "≤ 10 KB gzip"),
        ]
    } else {
        &[]
    };
    for &(file, target) in b6 {
        let (raw, gz) = gzip_size(&pkg.join(file))?;
        rows.push(Row {
            scenario: "B6",
            what: format!("{file} (release; wasm-opt -O2 --code-folding --gufa -O2, no inlining)"),
            figure: format!(
                "{:.1} KB raw, {:.1} KB gzip",
                raw as f64 / 1e3,
                gz as f64 / 1e3
            ),
            target: target.into(),
        });
    }

    let mut table = format!(
        "{START}\nGenerated by `cargo xtask bench` ({secs} s streams) on {}.\n\n| | what | figure | target |\n|---|---|---|---|\n",
        cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).output().unwrap_or_default().trim()
    );
    for r in &rows {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} |",
            r.scenario, r.what, r.figure, r.target
        );
    }
    table.push_str(END);
    println!("\n{table}");
    if profile_dir.is_some() {
        println!(
            "(profiling: BENCHMARKS.md is left as it was; figures with the profiler on are slower)"
        );
        return Ok(());
    }
    if subset {
        println!("(a subset: BENCHMARKS.md is left as it was)");
        return Ok(());
    }
    if kind == Kind::Firefox {
        return firefox_table(&rows, secs);
    }
    if only.is_some() {
        println!("(a subset: BENCHMARKS.md is left as it was)");
        return Ok(());
    }
    let path = root().join("BENCHMARKS.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let doc = match (doc.find(START), doc.find(END)) {
        (Some(a), Some(b)) if a < b => format!("{}{table}{}", &doc[..a], &doc[b + END.len()..]),
        _ => format!("{doc}\n{table}\n"),
    };
    std::fs::write(&path, doc).map_err(|e| format!("write BENCHMARKS.md: {e}"))?;
    println!("BENCHMARKS.md updated");
    Ok(())
}

/// B1: a token stream into one text span: the panel, the practical limit (vanilla appendData) and a naive page that sets the whole text each token.
fn b1(cx: &Cx, rows: &mut Vec<Row>) -> Result {
    let secs = cx.secs;
    let rate = 2_000;
    let (b1, text_len) = token_stream(&cx.data, rate, cx.secs)?;
    let mut b1_results = Vec::new();
    let mut floor = Vec::new();
    for (name, file, shown) in [
        (
            "panel",
            "panel.html",
            "document.querySelector('.utp-text')?.textContent.length",
        ),
        (
            "vanilla appendData",
            "vanilla.html",
            "document.getElementById('out').textContent.length",
        ),
        (
            "naive re-set",
            "naive.html",
            "document.getElementById('out').textContent.length",
        ),
    ] {
        println!("\n==> B1 token stream: {name} ({rate} tokens/s for {secs} s)");
        let rt = Runtime::start("native")?;
        open_ready(cx.browser, &cx.url(file, &rt))?;
        page(cx.browser, "bench.start(); return 'ok=1';")?;
        if name == "panel" {
            cx.profiler.start()?;
        }
        rt.replay(&b1, 1.0)?;
        // A baseline that has not caught up 20 s after the stream (the naive page, on a slow
        // machine) is reported as behind, not the run's failure; the panel must catch up.
        let caught = page(
            cx.browser,
            &format!(
                "const behind = await bench.until(() => ({shown}) === {text_len}, 20000).then(() => 0, () => 1);
                 return `behind=${{behind}};shown=${{({shown}) ?? 0}}`;"
            ),
        )?;
        let behind = get(&caught, "behind") > 0.0;
        if behind && name == "panel" {
            return Err(format!(
                "the panel showed {} of {text_len} bytes 20 s after the stream",
                get(&caught, "shown")
            ));
        }
        let mut f = page(cx.browser, STATS)?;
        if behind {
            f.push(("behindShown".into(), get(&caught, "shown")));
        }
        if name == "panel" {
            cx.profiler.stop("b1")?;
            // The floor: the same DOM changes by plain script on the panel's own page and
            // styles, for as many frames as the stream (longer than WebDriver's default 30 s).
            cx.browser.script_timeout(300)?;
            let words: Vec<String> = B1_WORDS.iter().map(|w| format!("' {w}'")).collect();
            floor = page(
                cx.browser,
                &format!(
                    "const s = await bench.streamStatic({{ frames: {frames}, tokens: {tokens}, streams: 1, words: [{words}], start: 'Answer:' }});
                     return `p50=${{s.p50}};p95=${{s.p95}};texts=${{s.texts}}`;",
                    frames = secs * 60,
                    tokens = rate as f64 / 60.0,
                    words = words.join(","),
                ),
            )?;
        }
        println!(
            "    frame work p50 {:.2} ms, p95 {:.2} ms, max {:.1} ms, {} long tasks",
            get(&f, "p50"),
            get(&f, "p95"),
            get(&f, "max"),
            get(&f, "longTasks")
        );
        b1_results.push((name, f));
    }
    let p95 = |i: usize| get(&b1_results[i].1, "p95");
    let p50 = |i: usize| get(&b1_results[i].1, "p50");
    for (i, (name, f)) in b1_results.iter().enumerate() {
        rows.push(Row {
            scenario: "B1",
            what: format!("token stream, {name}: frame work p50 / p95 / max; long tasks; {SLOW}"),
            figure: format!(
                "{:.2} / {:.2} / {:.1} ms; {}; {}{}",
                get(f, "p50"),
                get(f, "p95"),
                get(f, "max"),
                get(f, "longTasks"),
                slow(f),
                match f.iter().find(|(k, _)| k == "behindShown") {
                    Some((_, shown)) => format!(
                        "; fell behind: {shown:.0} of {text_len} bytes shown 20 s after the stream"
                    ),
                    None => String::new(),
                }
            ),
            target: if i == 0 {
                "p95 ≤ 4 ms".into()
            } else {
                String::new()
            },
        });
    }
    rows.push(Row {
        scenario: "B1",
        what: format!("baseline: the panel's DOM changes (each frame's {:.0} tokens appended to its text's last 4 KB block, the text and the tree scrolled to their ends) by plain script on the panel's page, {} frames: frame work p50 / p95; panel / baseline p50; p95", rate as f64 / 60.0, secs * 60),
        figure: over_floor(&floor, (p50(0), p95(0))),
        target: "report".into(),
    });
    rows.push(Row {
        scenario: "B1",
        what: "panel / vanilla appendData, frame work p50; p95".into(),
        figure: format!("{:.2}x; {:.2}x", p50(0) / p50(1), p95(0) / p95(1)),
        target: "≤ 1.5x".into(),
    });
    rows.push(Row {
        scenario: "B1",
        what: "panel / naive re-set, frame work p50; p95".into(),
        figure: format!("{:.2}x; {:.2}x", p50(0) / p50(2), p95(0) / p95(2)),
        target: "report".into(),
    });
    Ok(())
}

/// B2: a firehose of events over many spans.
fn b2(cx: &Cx, rows: &mut Vec<Row>) -> Result {
    let secs = cx.secs;
    let spans = 5_000;
    let rate = 10_000;
    let (b2, total) = firehose(&cx.data, spans, rate, cx.secs)?;
    println!("\n==> B2 firehose: {rate} events/s across {spans} spans for {secs} s");
    let rt = Runtime::start("native")?;
    open_ready(cx.browser, &cx.url("panel.html", &rt))?;
    page(cx.browser, "bench.start(); window.mem0 = 0; setTimeout(() => window.mem0 = wasmMemory(), 10000); return 'ok=1';")?;
    let started = Instant::now();
    cx.profiler.start()?;
    rt.replay(&b2, 1.0)?;
    let sent = started.elapsed().as_secs_f64();
    let f = page(
        cx.browser,
        &format!(
            "const applied = () => Number((document.querySelector('.utp-counters')?.textContent || '').split(' ')[0]);
             const behind = await bench.until(() => applied() >= {total}, 30000);
             const mem1 = wasmMemory();
             const s = bench.stop();
             return `p50=${{s.p50}};p95=${{s.p95}};max=${{s.max}};longTasks=${{s.longTasks}};slowScript=${{s.slowScript}};slowRender=${{s.slowRender}};catchup=${{behind}};mem0=${{window.mem0}};mem1=${{mem1}}`;"
        ),
    )?;
    cx.profiler.stop("b2")?;
    rows.push(Row {
        scenario: "B2",
        what: format!("firehose {rate}/s over {spans} spans, {secs} s ({sent:.1} s to send): frame work p50 / p95 / max; {SLOW}"),
        figure: frame_work(&f),
        target: "p95 ≤ 8 ms".into(),
    });
    rows.push(Row {
        scenario: "B2",
        what: "backlog: time from the last event sent until all are applied".into(),
        figure: format!("{:.0} ms", get(&f, "catchup")),
        target: "no growing backlog".into(),
    });
    rows.push(Row {
        scenario: "B2",
        what: "wasm memory at 10 s → at the end".into(),
        figure: format!(
            "{:.1} MB → {:.1} MB",
            get(&f, "mem0") / 1e6,
            get(&f, "mem1") / 1e6
        ),
        target: "flat after warm-up".into(),
    });
    Ok(())
}

/// B3, with B5 and B7: 100,000 spans loaded at once, scrolled, a cut connection, the memory per span.
fn b3(cx: &Cx, rows: &mut Vec<Row>) -> Result {
    let n = 100_000;
    let b3 = many_spans(&cx.data, n)?;
    println!("\n==> B3 {n} spans loaded at once");
    let rt = Runtime::start("native")?;
    rt.replay(&b3, 0.0)?;
    // The memory of an empty panel, for B7.
    let empty = empty_panel_memory(cx.browser, &cx.site)?;
    cx.profiler.start()?;
    cx.browser.open(&cx.url("panel.html", &rt))?;
    // 1,000 frames of scrolling are 17 s at 60 frames a second, and the static floors follow:
    // past WebDriver's default 30 s on a slow run.
    cx.browser.script_timeout(300)?;
    let f = page(
        cx.browser,
        &format!(
            "await bench.until(() => document.querySelector('.utp-count')?.textContent === '{n} spans', 30000);
             const paint = performance.now();
             await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
             const rows = document.querySelectorAll('.utp-span').length;
             const nodes = bench.domNodes();
             const mem = wasmMemory();
             const scroller = document.querySelector('.utp-tree');
             await bench.toTop(scroller);
             bench.start();
             for (let i = 0; i < 1000; i++) {{
               scroller.scrollTop += 400;
               await new Promise((r) => requestAnimationFrame(r));
             }}
             const s = bench.stop();
             // B5: cut the connection; time until the panel is live again with the same view.
             const conn = () => document.querySelector('.utp-conn')?.textContent;
             const counters = () => document.querySelector('.utp-counters')?.textContent;
             await bench.until(() => conn() === 'Live', 10000);
             const before = counters();
             const cut = performance.now();
             for (const ws of bench.sockets) ws.close();
             await bench.until(() => conn() !== 'Live', 5000);
             await bench.until(() => conn() === 'Live' && counters() === before
               && document.querySelector('.utp-count')?.textContent === '{n} spans', 10000);
             const resumed = performance.now() - cut;
             // The baseline, last: it replaces the panel with a static copy of its rows.
             const st = await bench.scrollStatic({{ rows: 2000, frames: 200, px: 400, lazy: false }});
             const lz = await bench.scrollStatic({{ rows: 2000, frames: 200, px: 400, lazy: true }});
             return `paint=${{paint}};rows=${{rows}};nodes=${{nodes}};mem=${{mem}};p50=${{s.p50}};p95=${{s.p95}};max=${{s.max}};slowScript=${{s.slowScript}};slowRender=${{s.slowRender}};resumed=${{resumed}};stP50=${{st.p50}};stP95=${{st.p95}};lzP50=${{lz.p50}};lzP95=${{lz.p95}};rowPx=${{st.rowPx}}`;"
        ),
    )?;
    cx.profiler.stop("b3")?;
    rows.push(Row {
        scenario: "B3",
        what: format!(
            "{n} spans: first paint of all of them, from navigation (wasm load, connect, snapshot)"
        ),
        figure: format!("{:.0} ms", get(&f, "paint")),
        target: "≤ 1 s".into(),
    });
    rows.push(Row {
        scenario: "B3",
        what: "span rows mounted; all DOM elements".into(),
        figure: format!("{}; {}", get(&f, "rows"), get(&f, "nodes")),
        target: "≤ 300 rows".into(),
    });
    rows.push(Row {
        scenario: "B3",
        what: format!(
            "scrolling 400 px per frame for 1,000 frames: frame work p50 / p95 / max; {SLOW}"
        ),
        figure: format!(
            "{:.2} / {:.2} / {:.1} ms; {}",
            get(&f, "p50"),
            get(&f, "p95"),
            get(&f, "max"),
            slow(&f)
        ),
        target: "p95 ≤ 8 ms".into(),
    });
    static_floor(
        "B3",
        "the same span rows (2,000 copied from the panel; no script, nothing mounted)",
        &f,
        rows,
    );
    rows.push(Row {
        scenario: "B5",
        what: format!("connection cut after {n} events: live again with the same view (backoff 250 ms ± 20% first)"),
        figure: format!("{:.0} ms", get(&f, "resumed")),
        target: "≤ 1 s".into(),
    });
    let per_span = (get(&f, "mem") - empty) / n as f64;
    rows.push(Row {
        scenario: "B7",
        what: format!(
            "wasm memory per small span at {n} spans (empty panel: {:.1} MB, loaded: {:.1} MB)",
            empty / 1e6,
            get(&f, "mem") / 1e6
        ),
        figure: format!("{per_span:.0} bytes"),
        target: "≤ 1 KB".into(),
    });
    Ok(())
}

/// The floor under a scrolling figure: the browser scrolling a static copy of the rows
/// (`bench.scrollStatic`, its figures `st*` and `lz*` in `f`), and the panel's ratio to the
/// faster of its two forms.
fn static_floor(scenario: &'static str, copied: &str, f: &[(String, f64)], rows: &mut Vec<Row>) {
    let floor = |k: &str| get(f, &format!("st{k}")).min(get(f, &format!("lz{k}")));
    rows.push(Row {
        scenario,
        what: format!("baseline: {copied} as static markup ({:.0} px a row), scrolled the same way for 200 frames: frame work p50 / p95; the same with `content-visibility: auto` per 10 rows", get(f, "rowPx")),
        figure: format!(
            "{:.2} / {:.2} ms; {:.2} / {:.2} ms",
            get(f, "stP50"),
            get(f, "stP95"),
            get(f, "lzP50"),
            get(f, "lzP95")
        ),
        target: "report".into(),
    });
    rows.push(Row {
        scenario,
        what: "panel / the faster static baseline, scrolling frame work p50; p95".into(),
        figure: format!(
            "{:.2}x; {:.2}x",
            get(f, "p50") / floor("P50"),
            get(f, "p95") / floor("P95")
        ),
        target: "report".into(),
    });
}

/// B8: a million small spans in 10,000 traces, loaded as a snapshot: first paint of the
/// newest, scrolling, the memory per span.
fn b8(cx: &Cx, rows: &mut Vec<Row>) -> Result {
    let (traces, per) = (10_000, 100);
    let spans = traces * per;
    let (file, events) = many_traces(&cx.data, traces, per)?;
    println!("\n==> B8 {spans} spans in {traces} traces, loaded as a snapshot");
    // The runtime's state cap is raised to hold them all (its default, 512 MiB, is for a
    // machine it shares).
    let rt = Runtime::start_with("native", &["--max-state-mib", "4096"])?;
    let loaded = Instant::now();
    rt.replay(&file, 0.0)?;
    println!(
        "    replayed {events} events in {:.1} s",
        loaded.elapsed().as_secs_f64()
    );
    let empty = empty_panel_memory(cx.browser, &cx.site)?;
    cx.browser.script_timeout(600)?;
    cx.profiler.start()?;
    // The panel's cap (256 MiB by default) is raised as the runtime's is, to hold them all.
    cx.browser.open(&format!(
        "{}&maxBytes={}",
        cx.url("panel.html", &rt),
        1u64 << 30
    ))?;
    let f = page(
        cx.browser,
        &format!(
            "const newest = 'request {last}';
             // A stage that does not finish in time reads -1, and the rest is still measured.
             const at = (f, ms) => bench.until(f, ms).then(() => performance.now(), () => -1);
             const paint = await at(() => [...document.querySelectorAll('.utp-label')].some((l) => l.textContent === newest), 120000);
             const all = await at(() => document.querySelector('.utp-counters')?.textContent.startsWith('{events} events'), 300000);
             const counters = document.querySelector('.utp-counters')?.textContent ?? '';
             const applied = parseInt(counters, 10) || 0;
             await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
             const mem = wasmMemory();
             const evicted = document.querySelector('.utp-counters')?.textContent.includes('evicted') ? 1 : 0;
             const scroller = document.querySelector('.utp-tree');
             await bench.toTop(scroller);
             // The root traces mounted at the top, for the static baseline at the end.
             const roots = '.utp-tree > .utp-group > .utp-block > .utp-trace';
             bench.keepRows(roots);
             bench.start();
             for (let i = 0; i < 600; i++) {{
               scroller.scrollTop += 400;
               await new Promise((r) => requestAnimationFrame(r));
             }}
             const s = bench.stop();
             // Find (Ctrl+F) a text only the newest trace has: the tree shows it last (oldest
             // at the top), so the search walks every node before the first match.
             document.querySelector('.utp-panel').dispatchEvent(new KeyboardEvent('keydown', {{ key: 'f', ctrlKey: true, bubbles: true }}));
             const input = document.querySelector('.utp-find-input');
             const count = () => document.querySelector('.utp-find-count')?.textContent ?? '';
             await new Promise((r) => requestAnimationFrame(r));
             // {FIND_RUNS} finds, the box emptied between them: one find is a third of a
             // second, and this machine's spread between single ones was a fifth of that.
             const type = (text) => {{ input.value = text; input.dispatchEvent(new Event('input', {{ bubbles: true }})); }};
             const since = (t, from) => t < 0 ? -1 : t - from;
             const firsts = [], wholes = [];
             bench.start();
             for (let i = 0; i < {FIND_RUNS}; i++) {{
               type('');
               await at(() => count() === '', 10000);
               await new Promise((r) => requestAnimationFrame(r));
               const typed = performance.now();
               type(newest);
               firsts.push(since(await at(() => count().startsWith('1 of'), 120000), typed));
               wholes.push(since(await at(() => count() === '1 of 1', 120000), typed));
             }}
             const f = bench.stop();
             // One find that did not finish makes the figure read as not finished.
const median = (xs) => xs.some((x) => x < 0) ? -1 : [...xs].sort((a, b) => a - b)[xs.length >> 1];
             // The baseline, last: it replaces the panel with a static copy of its root traces.
             const static_ = {{ rows: 4000, frames: 200, px: 400, row: roots, list: '.utp-tree' }};
             const st = await bench.scrollStatic({{ ...static_, lazy: false }});
             const lz = await bench.scrollStatic({{ ...static_, lazy: true }});
             return `paint=${{paint}};all=${{all}};applied=${{applied}};mem=${{mem}};evicted=${{evicted}};p50=${{s.p50}};p95=${{s.p95}};max=${{s.max}};slowScript=${{s.slowScript}};slowRender=${{s.slowRender}};findFirst=${{median(firsts)}};findAll=${{median(wholes)}};findLo=${{Math.min(...firsts)}};findHi=${{Math.max(...firsts)}};findP95=${{f.p95}};findMax=${{f.max}};stP50=${{st.p50}};stP95=${{st.p95}};lzP50=${{lz.p50}};lzP95=${{lz.p95}};rowPx=${{st.rowPx}}`;",
            last = traces - 1,
            FIND_RUNS = FIND_RUNS,
        ),
    )?;
    cx.profiler.stop("b8")?;
    rows.push(Row {
        scenario: "B8",
        what: format!("{spans} spans in {traces} traces: first paint of the newest, from navigation; all of them applied"),
        figure: format!(
            "{}; {} ({} of {events} events applied)",
            ms_or_not(get(&f, "paint"), 120),
            ms_or_not(get(&f, "all"), 300),
            get(&f, "applied")
        ),
        target: "≤ 2 s (first paint)".into(),
    });
    rows.push(Row {
        scenario: "B8",
        what: format!(
            "scrolling 400 px per frame for 600 frames: frame work p50 / p95 / max; {SLOW}"
        ),
        figure: format!(
            "{:.2} / {:.2} / {:.1} ms; {}",
            get(&f, "p50"),
            get(&f, "p95"),
            get(&f, "max"),
            slow(&f)
        ),
        target: "p95 ≤ 8 ms".into(),
    });
    static_floor(
        "B8",
        "the same root traces (4,000 copied from the panel at the top; no script, nothing mounted)",
        &f,
        rows,
    );
    rows.push(Row {
        scenario: "B8",
        what: format!("find a text only the newest trace has (after all {spans} spans in the tree's order), the median of {FIND_RUNS} finds: its first match shown (the fastest and slowest); the search over; frame work p95 / max meanwhile"),
        figure: format!(
            "{} ({:.0}–{:.0}); {}; {:.2} / {:.1} ms",
            ms_or_not(get(&f, "findFirst"), 120),
            get(&f, "findLo"),
            get(&f, "findHi"),
            ms_or_not(get(&f, "findAll"), 120),
            get(&f, "findP95"),
            get(&f, "findMax")
        ),
        target: "≤ 300 ms (first match); responsive".into(),
    });
    let per_span = (get(&f, "mem") - empty) / spans as f64;
    let evicted = if get(&f, "evicted") > 0.0 {
        " (the panel's cap evicted some: fewer spans held)"
    } else {
        ""
    };
    rows.push(Row {
        scenario: "B8",
        what: format!(
            "wasm memory per small span at {spans} spans (loaded: {:.1} MB){evicted}",
            get(&f, "mem") / 1e6
        ),
        figure: format!("{per_span:.0} bytes"),
        target: "≤ 300 bytes".into(),
    });
    Ok(())
}

/// B12: cold start. Navigation to the panel's wasm ready to run (`wasmReady`: the glue, the
/// wasm fetched, compiled and instantiated), against two floors in the same browser: a page
/// that only fetches and compiles the same wasm (`compile.html`) and a blank page
/// (`blank.html`). Each page is loaded `LOADS` times, the three alternating; medians. The
/// page server sends `no-store`, so no load reuses another's bytes.
fn b12(cx: &Cx, rows: &mut Vec<Row>) -> Result {
    const LOADS: usize = 9;
    println!("\n==> B12 cold start, {LOADS} loads of each page");
    let pages = [
        // An unused port: the wasm is ready before the panel connects.
        "panel.html?src=ws://127.0.0.1:9/v1/panel",
        "compile.html",
        "blank.html",
    ];
    let wait = "const t0 = performance.now();
        while (!window.ready && !window.failed) {
          if (performance.now() - t0 > 20000) return 'fail: not ready within 20 s';
          await new Promise((r) => setTimeout(r, 10));
        }
        if (window.failed) return 'fail: ' + window.failed;
        return `ready=${window.wasmReady ?? window.ready}`;";
    let mut times = vec![Vec::new(); pages.len()];
    for _ in 0..LOADS {
        for (page_url, t) in pages.iter().zip(&mut times) {
            cx.browser
                .open(&format!("http://{}/bench/{page_url}", cx.site))?;
            t.push(get(&page(cx.browser, wait)?, "ready"));
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let [panel, compile, blank] = [0, 1, 2].map(|i| median(&mut times[i]));
    println!(
        "    wasm ready {panel:.0} ms; fetch and compile alone {compile:.0}; blank {blank:.0}"
    );
    rows.push(Row {
        scenario: "B12",
        what: format!("cold start, median of {LOADS} loads of each page, alternating: wasm ready from navigation (the glue, the wasm fetched, compiled, instantiated); floors: the same wasm only fetched and compiled; a blank page"),
        figure: format!(
            "{panel:.0} ms; {compile:.0} ms; {blank:.0} ms (panel / fetch and compile: {:.2}x)",
            panel / compile
        ),
        target: "≤ 40 ms".into(),
    });
    Ok(())
}

/// A time in ms, or that it did not happen within `limit` seconds (-1).
/// B8: finds made one after another, for the median.
const FIND_RUNS: usize = 5;

fn ms_or_not(ms: f64, limit: u64) -> String {
    if ms < 0.0 {
        format!("not within {limit} s")
    } else {
        format!("{ms:.0} ms")
    }
}

/// B4: one 10 MB JSON span, against two JSON viewers from npm.
fn b4(cx: &Cx, rows: &mut Vec<Row>) -> Result {
    let (b4_events, size) = big_json(&cx.data)?;
    println!("\n==> B4 one {:.1} MB JSON span", size as f64 / 1e6);
    let rt = Runtime::start("native")?;
    rt.replay(&b4_events, 0.0)?;
    let empty = empty_panel_memory(cx.browser, &cx.site)?;
    cx.profiler.start()?;
    cx.browser.open(&cx.url("panel.html", &rt))?;
    let f = page(
        cx.browser,
        "await bench.until(() => [...document.querySelectorAll('.utp-json-row')].some((r) => r.textContent.includes('[100000 items]')), 30000);
         const paint = performance.now();
         const row = [...document.querySelectorAll('.utp-json-row')].find((r) => r.textContent.includes('[100000 items]'));
         const t0 = performance.now();
         row.click();
         await new Promise((r) => setTimeout(r, 0));
         document.body.offsetHeight;
         const expand = performance.now() - t0;
         const pages = document.querySelectorAll('.utp-json-page').length;
         const [msgStart, msgEnd] = bench.handled.reduce((a, h) => h[1] - h[0] > a[1] - a[0] ? h : a, [0, 0]);
         const h = bench.handled.map((x, i) => `h${i}s=${x[0]};h${i}e=${x[1]}`).join(';');
         return `paint=${paint};expand=${expand};pages=${pages};mem=${wasmMemory()};wasm=${wasmReady};msgStart=${msgStart};msgEnd=${msgEnd};${h}`;",
    )?;
    cx.profiler.stop("b4")?;
    drop(rt);
    println!(
        "    timeline: wasm ready {:.0} ms, hello {:.0}, snapshot handled {:.0}–{:.0}, paint {:.0}",
        get(&f, "wasm"),
        get(&f, "h0s"),
        get(&f, "msgStart"),
        get(&f, "msgEnd"),
        get(&f, "paint")
    );
    let mut peers = Vec::new();
    for (name, file, shown) in [
        (
            "vanilla-jsoneditor",
            "jsoneditor.html",
            "document.querySelector('#editor')?.textContent.includes('rows')",
        ),
        (
            "react-json-view-lite",
            "react-json-view-lite.html",
            "document.querySelector('#view')?.textContent.includes('rows')",
        ),
    ] {
        cx.browser
            .open(&format!("http://{}/bench/{file}", cx.site))?;
        let p = page(
            cx.browser,
            &format!(
                "await bench.until(() => {shown}, 60000); return `paint=${{performance.now()}}`;"
            ),
        )?;
        peers.push((name, get(&p, "paint")));
    }
    // The floor: the document's bytes fetched and parsed, nothing shown.
    cx.browser
        .open(&format!("http://{}/bench/parse.html", cx.site))?;
    let floor = page(
        cx.browser,
        "await bench.until(() => window.ready || window.failed, 60000);
         if (window.failed) return 'fail: ' + window.failed;
         return `ready=${window.ready};rows=${window.parsed}`;",
    )?;
    let paint = get(&f, "paint");
    rows.push(Row {
        scenario: "B4",
        what: format!(
            "{:.1} MB JSON span: first paint from navigation, panel (via the runtime)",
            size as f64 / 1e6
        ),
        figure: format!(
            "{paint:.0} ms (wasm ready {:.0}; snapshot handled {:.0}–{:.0})",
            get(&f, "wasm"),
            get(&f, "msgStart"),
            get(&f, "msgEnd")
        ),
        target: "≤ 1 s; beats both peers".into(),
    });
    for (name, t) in peers {
        rows.push(Row {
            scenario: "B4",
            what: format!("same document, {name} (fetched as a file, top level shown)"),
            figure: format!("{t:.0} ms (panel / peer: {:.2}x)", paint / t),
            target: String::new(),
        });
    }
    rows.push(Row {
        scenario: "B4",
        what: format!(
            "floor: the same document fetched as a file and parsed (`JSON.parse`, {:.0} rows), nothing shown",
            get(&floor, "rows")
        ),
        figure: format!(
            "{:.0} ms (panel / floor: {:.2}x)",
            get(&floor, "ready"),
            paint / get(&floor, "ready")
        ),
        target: "report".into(),
    });
    rows.push(Row {
        scenario: "B4",
        what: format!(
            "expanding the array of 100,000 items (until laid out; {} page groups shown)",
            get(&f, "pages")
        ),
        figure: format!("{:.1} ms", get(&f, "expand")),
        target: "≤ 50 ms".into(),
    });
    rows.push(Row {
        scenario: "B4",
        what: "wasm memory added by the span, over the JSON size (includes the decoding peak: wasm memory never shrinks)".into(),
        figure: format!("{:.2}x", (get(&f, "mem") - empty) / size as f64),
        target: "≤ 3x".into(),
    });
    Ok(())
}

/// Writes the Firefox run's figures into BENCHMARKS.md beside the Chromium figures of its
/// table: rows are matched by scenario and order (both runs make the same rows, in the same
/// order). Firefox has no targets of its own yet.
fn firefox_table(rows: &[Row], secs: u64) -> Result {
    let path = root().join("BENCHMARKS.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let chromium: Vec<(String, String)> = match (doc.find(START), doc.find(END)) {
        (Some(a), Some(b)) if a < b => doc[a..b]
            .lines()
            .filter_map(|l| {
                let cells: Vec<&str> = l.trim().trim_matches('|').split(" | ").collect();
                let scenario = cells.first()?.trim();
                (cells.len() >= 3 && scenario.starts_with('B'))
                    .then(|| (scenario.to_owned(), cells[2].trim().to_owned()))
            })
            .collect(),
        _ => Vec::new(),
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let mut table = format!(
        "{FIREFOX_START}\nGenerated by `cargo xtask bench --browser firefox` ({secs} s streams) on {}, load average at the end {load}; Chromium's figures from the table above. Firefox reports no long tasks (no Long Tasks API).\n\n| | what | Firefox ESR | Chromium |\n|---|---|---|---|\n",
        cmd("date", &["-u", "+%Y-%m-%d %H:%M UTC"]).output().unwrap_or_default().trim()
    );
    let mut seen: Vec<&str> = Vec::new();
    for r in rows {
        let k = seen.iter().filter(|s| **s == r.scenario).count();
        seen.push(r.scenario);
        let other = chromium
            .iter()
            .filter(|(s, _)| s == r.scenario)
            .nth(k)
            .map_or("—", |(_, f)| f.as_str());
        let _ = writeln!(
            table,
            "| {} | {} | {} | {other} |",
            r.scenario, r.what, r.figure
        );
    }
    table.push_str(FIREFOX_END);
    println!("\n{table}");
    let doc = match (doc.find(FIREFOX_START), doc.find(FIREFOX_END)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{table}{}", &doc[..a], &doc[b + FIREFOX_END.len()..])
        }
        // New: right after the Chromium table.
        _ => match doc.find(END) {
            Some(e) => format!(
                "{}\n\n{table}{}",
                &doc[..e + END.len()],
                &doc[e + END.len()..]
            ),
            None => format!("{doc}\n{table}\n"),
        },
    };
    std::fs::write(&path, doc).map_err(|e| format!("write BENCHMARKS.md: {e}"))?;
    println!("BENCHMARKS.md updated (the Firefox table)");
    Ok(())
}
