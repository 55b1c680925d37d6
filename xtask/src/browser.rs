//! Headless Chromium and Firefox driven over WebDriver (chromedriver, geckodriver), and a
//! static file server for the pages they load: enough to check a plain HTML page as a user's
//! browser would run it. std only, like the rest of xtask: requests and answers are small JSON
//! texts.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::setup;
use crate::util::Result;

/// Serves files over HTTP on a free loopback port until the process ends. `mounts` maps URL
/// prefixes to folders; the first matching prefix wins.
pub fn serve(mounts: Vec<(String, PathBuf)>) -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("no port for the page server: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("page server address: {e}"))?
        .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mounts = mounts.clone();
            std::thread::spawn(move || answer(stream, &mounts));
        }
    });
    Ok(addr)
}

fn answer(mut stream: TcpStream, mounts: &[(String, PathBuf)]) {
    let mut buf = [0u8; 8192];
    let n = stream.read(&mut buf).unwrap_or(0);
    let request = String::from_utf8_lossy(&buf[..n]);
    let path = request
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_owned();
    let file = mounts.iter().find_map(|(prefix, dir)| {
        let rest = path.strip_prefix(prefix.as_str())?;
        (!rest.contains("..")).then(|| dir.join(rest))
    });
    let (status, kind, body) = match file.and_then(|f| std::fs::read(&f).ok().map(|b| (f, b))) {
        Some((f, body)) => ("200 OK", content_type(&f), body),
        None => ("404 Not Found", "text/plain", b"not found".to_vec()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css",
        Some("json" | "jsonl") => "application/json",
        _ => "application/octet-stream",
    }
}

/// One HTTP/1.1 request; returns the status code and body.
pub fn http(method: &str, addr: &str, path: &str, body: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("cannot reach {addr}: {e}"))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{method} {path}: {e}"))?;
    // Read by Content-Length: chromedriver keeps the connection open after answering.
    let mut raw = Vec::new();
    let mut chunk = [0u8; 16384];
    let fail = |e: std::io::Error| format!("{method} {path}: {e}");
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).map_err(fail)?;
        if n == 0 {
            return Err(format!(
                "{method} {path}: the connection closed before an answer"
            ));
        }
        raw.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).to_string();
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    loop {
        let have = raw.len() - head_end;
        if length.is_some_and(|l| have >= l) {
            break;
        }
        let n = stream.read(&mut chunk).map_err(fail)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = String::from_utf8_lossy(&raw[head_end..]).into_owned();
    Ok((status, body))
}

/// Quotes `s` as a JSON string.
pub fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The string value of `"key":"..."` in a JSON text (the first one), unescaped.
pub fn string_field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\""))? + key.len() + 2;
    let rest = json[start..].trim_start().strip_prefix(':')?.trim_start();
    let mut chars = rest.strip_prefix('"')?.chars();
    let mut out = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?).unwrap_or('?'));
                }
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
    None
}

/// A browser the checks run in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Chromium,
    Firefox,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Chromium, Kind::Firefox];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Chromium => "Chromium",
            Kind::Firefox => "Firefox",
        }
    }

    /// From a command-line value (`chromium`, `firefox`).
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "chromium" | "chrome" => Some(Kind::Chromium),
            "firefox" => Some(Kind::Firefox),
            _ => None,
        }
    }

    fn driver(self) -> PathBuf {
        match self {
            Kind::Chromium => PathBuf::from(setup::CHROMEDRIVER),
            Kind::Firefox => setup::geckodriver(),
        }
    }

    /// The session's capabilities: headless, 1280 x 900; Firefox's `performance.now()` not
    /// rounded to a millisecond (the benchmark measures frames of less).
    fn capabilities(self) -> String {
        match self {
            Kind::Chromium => format!(
                r#"{{"goog:chromeOptions":{{"binary":{},"args":["--headless=new","--no-sandbox","--disable-gpu","--disable-dev-shm-usage","--window-size=1280,900"]}}}}"#,
                json_string(setup::CHROMIUM)
            ),
            Kind::Firefox => format!(
                r#"{{"browserName":"firefox","moz:firefoxOptions":{{"binary":{},"args":["-headless","--width=1280","--height=900"],"prefs":{{"privacy.reduceTimerPrecision":false}}}}}}"#,
                json_string(setup::FIREFOX)
            ),
        }
    }
}

/// A headless browser session; closed (and its driver stopped) on drop.
pub struct Browser {
    pub kind: Kind,
    driver: Child,
    addr: String,
    session: String,
}

impl Browser {
    pub fn start(kind: Kind) -> Result<Browser> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port for a WebDriver: {e}"))?
            .port();
        let program = kind.driver();
        let mut driver = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", program.display()))?;
        let addr = format!("127.0.0.1:{port}");
        let mut up = false;
        for _ in 0..100 {
            if TcpStream::connect(&addr).is_ok() {
                up = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !up {
            let _ = driver.kill();
            return Err(format!("{} did not listen within 5 s", program.display()));
        }
        let caps = format!(
            r#"{{"capabilities":{{"alwaysMatch":{}}}}}"#,
            kind.capabilities()
        );
        let (status, body) = http("POST", &addr, "/session", &caps)?;
        let Some(session) = string_field(&body, "sessionId").filter(|_| status == 200) else {
            let _ = driver.kill();
            let _ = driver.wait();
            return Err(format!(
                "{} refused a {} session ({status}): {body}",
                program.display(),
                kind.name()
            ));
        };
        Ok(Browser {
            kind,
            driver,
            addr,
            session,
        })
    }

    fn command(&self, path: &str, body: &str) -> Result<String> {
        let (status, answer) = http(
            "POST",
            &self.addr,
            &format!("/session/{}/{path}", self.session),
            body,
        )?;
        if status != 200 {
            return Err(format!("WebDriver {path} failed ({status}): {answer}"));
        }
        Ok(answer)
    }

    /// Sends a Chrome DevTools Protocol command (`params`: a JSON object); returns the answer.
    /// Chromium only.
    pub fn cdp(&self, cmd: &str, params: &str) -> Result<String> {
        if self.kind != Kind::Chromium {
            return Err(format!("{} has no DevTools protocol", self.kind.name()));
        }
        self.command(
            "goog/cdp/execute",
            &format!(r#"{{"cmd":{},"params":{params}}}"#, json_string(cmd)),
        )
    }

    pub fn open(&self, url: &str) -> Result {
        self.command("url", &format!(r#"{{"url":{}}}"#, json_string(url)))
            .map(drop)
    }

    /// Runs `script` in the page as an async function body; it must resolve to a string
    /// (use `arguments[arguments.length - 1](value)` to finish).
    pub fn run(&self, script: &str) -> Result<String> {
        let answer = self.command(
            "execute/async",
            &format!(r#"{{"script":{},"args":[]}}"#, json_string(script)),
        )?;
        string_field(&answer, "value")
            .ok_or_else(|| format!("the script returned no string: {answer}"))
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            "DELETE",
            &self.addr,
            &format!("/session/{}", self.session),
            "",
        );
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
