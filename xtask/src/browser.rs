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
    // Past the longest script a benchmark runs (B8's, bounded by its own waits).
    let _ = stream.set_read_timeout(Some(Duration::from_secs(900)));
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

/// Quotes `s` as a JSON string, with the protocol's own writer.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    user_trace_protocol::writer::string(&mut out, s);
    out
}

/// The first string member named `key` in a JSON text, at any depth (WebDriver nests
/// `sessionId` inside `value`), read with the protocol's own reader. `None` when the text is
/// not JSON or holds no such string.
pub fn string_field(json: &str, key: &str) -> Option<String> {
    use user_trace_protocol::reader::{ReadError, Reader};
    fn find(
        r: &mut Reader,
        key: &str,
        found: &mut Option<String>,
    ) -> std::result::Result<(), ReadError> {
        match r.peek() {
            _ if found.is_some() => r.skip(),
            Some(b'{') => r.object(|r, k| {
                if found.is_none() && k == key && r.peek() == Some(b'"') {
                    *found = Some(r.owned_string()?);
                    Ok(())
                } else {
                    find(r, key, found)
                }
            }),
            Some(b'[') => r.array(|r| find(r, key, found)),
            _ => r.skip(),
        }
    }
    let mut found = None;
    let mut r = Reader::new(json);
    find(&mut r, key, &mut found).ok()?;
    found
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

    /// How long a script run by [`Browser::run`] may take (WebDriver's default: 30 s).
    pub fn script_timeout(&self, secs: u64) -> Result {
        self.command("timeouts", &format!(r#"{{"script":{}}}"#, secs * 1000))
            .map(drop)
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

#[cfg(test)]
mod tests {
    use super::{json_string, string_field};

    #[test]
    fn string_field_finds_the_first_string_member_at_any_depth() {
        // WebDriver's new-session answer nests the id in `value`.
        let answer = r#"{"value":{"capabilities":{"sessionId":7},"sessionId":"a\"b\u00e9"}}"#;
        assert_eq!(string_field(answer, "sessionId").as_deref(), Some("a\"bé"));
        // A key that appears as a string value first is not a member.
        assert_eq!(
            string_field(r#"{"x":"value","value":"yes"}"#, "value").as_deref(),
            Some("yes")
        );
        assert_eq!(
            string_field(r#"[{"a":1},{"value":"in an array"}]"#, "value").as_deref(),
            Some("in an array")
        );
    }

    #[test]
    fn string_field_is_none_without_a_string_or_on_broken_json() {
        assert_eq!(string_field(r#"{"value":null}"#, "value"), None);
        assert_eq!(string_field(r#"{"valu":"x"}"#, "value"), None);
        assert_eq!(string_field(r#"{"value":"cut"#, "value"), None);
        assert_eq!(string_field("not json", "value"), None);
    }

    #[test]
    fn json_string_quotes_what_json_needs_quoted() {
        assert_eq!(json_string("a\"b\\c\nd\u{1}é"), r#""a\"b\\c\nd\u0001é""#);
        assert_eq!(
            string_field(&format!(r#"{{"k":{}}}"#, json_string("x\"\ty")), "k").as_deref(),
            Some("x\"\ty")
        );
    }
}
