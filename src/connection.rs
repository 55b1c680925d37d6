//! The WebSocket to a runtime: hello, subscribe and resume, reconnect with backoff and jitter.
//! Frames are decoded as they arrive and queued in the store, which applies them once per
//! animation frame.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use crate::reactive::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use user_trace_model::protocol::{
    decode_server_frame, PanelMessage, ServerMessage, CLOSE_OTHER_VERSION, PROTOCOL_VERSION,
};

use crate::backoff::Backoff;
use crate::endpoints;
use crate::store::{Level, Pending, Store};

/// What the connection is doing, as the status area shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// No runtime URL: the panel shows only what the host pushes.
    Offline,
    Connecting,
    Live,
    /// Waiting before the next attempt.
    Reconnecting {
        in_ms: u32,
        attempt: u32,
    },
    /// The runtime speaks another protocol version; no retry.
    Incompatible(String),
}

struct State {
    /// The runtimes to try, in turn after a failure (`endpoints`).
    urls: Vec<String>,
    current: usize,
    store: Store,
    status: RwSignal<Status>,
    backoff: Backoff,
    ws: Option<WebSocket>,
    attempt: u32,
    disposed: bool,
    incompatible: bool,
    retry_timer: Option<TimeoutHandle>,
    // Kept alive as long as the socket they are attached to.
    closures: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

/// A live connection; dropping it does not close it, [`Connection::dispose`] does.
#[derive(Clone)]
pub struct Connection(Rc<RefCell<State>>);

impl Connection {
    /// Starts connecting to `url` (a runtime's panel endpoint; several, comma-separated, are
    /// tried in turn).
    pub fn open(url: String, store: Store, status: RwSignal<Status>) -> Connection {
        let conn = Connection(Rc::new(RefCell::new(State {
            urls: endpoints::parse(&url),
            current: 0,
            store,
            status,
            backoff: Backoff::default(),
            ws: None,
            attempt: 0,
            disposed: false,
            incompatible: false,
            retry_timer: None,
            closures: Vec::new(),
        })));
        conn.connect();
        // A gap in sequence numbers: resume right away from what the model holds.
        let weak = Rc::downgrade(&conn.0);
        let counters = store.counters;
        let mut seen = None;
        crate::dom::effect(move || {
            let n = counters.get().gaps;
            if seen.is_some_and(|p| p != n) {
                if let Some(state) = weak.upgrade() {
                    Connection(state).reconnect_now();
                }
            }
            seen = Some(n);
        });
        conn
    }

    fn connect(&self) {
        let mut s = self.0.borrow_mut();
        if s.disposed || s.incompatible {
            return;
        }
        s.status.set(Status::Connecting);
        let url = s.urls.get(s.current).cloned().unwrap_or_default();
        let ws = match WebSocket::new(&url) {
            Ok(ws) => ws,
            Err(e) => {
                let msg = e
                    .as_string()
                    .unwrap_or_else(|| format!("cannot open `{url}`"));
                s.store.notice(Level::Error, msg.clone());
                drop(s);
                self.schedule_retry();
                return;
            }
        };
        let on_message = {
            let this = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                if let Some(e) = e.dyn_ref::<MessageEvent>() {
                    this.on_message(e);
                }
            })
        };
        // The subscribe goes out as soon as the connection opens, not after the hello: the
        // server reads it once its hello is sent, and a snapshot starts a round trip sooner.
        let on_open = {
            let this = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| this.subscribe())
        };
        let on_close = {
            let this = self.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                let reason = e.dyn_ref::<CloseEvent>().map(|c| (c.code(), c.reason()));
                this.on_close(reason);
            })
        };
        // Binary frames (asked for in the subscribe) arrive as bytes, not as a string.
        ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        s.closures = vec![on_message, on_close, on_open];
        s.ws = Some(ws);
    }

    /// Subscribes with what the store holds: its session and last sequence number, if any.
    fn subscribe(&self) {
        let store = self.0.borrow().store;
        // Apply what is queued first, so that the sequence number we resume from is current.
        store.flush();
        let sub = PanelMessage::Subscribe {
            session: store.session(),
            last_seq: store.last_seq(),
            binary: true,
            // Each part is applied as it comes: the whole snapshot's text never sits in
            // wasm memory, which never shrinks.
            parts: true,
        };
        self.send(&sub.to_json());
    }

    fn send(&self, text: &str) {
        if let Some(ws) = &self.0.borrow().ws {
            let _ = ws.send_with_str(text);
        }
    }

    fn on_message(&self, e: &MessageEvent) {
        let store = self.0.borrow().store;
        let Some(text) = frame_text(&e.data()) else {
            store.notice(
                Level::Warning,
                "message skipped: a binary frame that is not UTF-8 text",
            );
            return;
        };
        let decoded = decode_server_frame(&text);
        // The frame's text goes before a snapshot is applied (unless a large JSON value in it
        // keeps it, in place of a copy of itself): wasm memory never shrinks, so holding both
        // would raise the panel's footprint for good.
        drop(text);
        match decoded {
            Ok(ServerMessage::Hello(h)) => {
                if h.protocol != PROTOCOL_VERSION {
                    let msg = format!(
                        "incompatible runtime: it speaks protocol {}, this panel speaks {PROTOCOL_VERSION}",
                        h.protocol
                    );
                    let mut s = self.0.borrow_mut();
                    s.incompatible = true;
                    s.status.set(Status::Incompatible(msg.clone()));
                    s.store.notice(Level::Error, msg.clone());
                    if let Some(ws) = &s.ws {
                        if ws
                            .close_with_code_and_reason(CLOSE_OTHER_VERSION, &msg)
                            .is_err()
                        {
                            let _ = ws.close();
                        }
                    }
                    return;
                }
                // A new session voids our sequence numbers; the subscribe sent on open named
                // the old one, so the server sends a snapshot, which starts us over.
                store.set_session(&h.session);
                let mut s = self.0.borrow_mut();
                s.attempt = 0;
                s.status.set(Status::Live);
            }
            Ok(ServerMessage::Error { message }) => {
                store.notice(Level::Error, format!("runtime: {message}"))
            }
            // A snapshot replaces the view: shown now rather than at the next frame; its parts
            // are applied as they come, so that none waits decoded beside the next.
            Ok(m @ (ServerMessage::Snapshot { .. } | ServerMessage::SnapshotPart { .. })) => {
                store.enqueue(Pending::Server(m));
                store.flush();
            }
            Ok(m) => store.enqueue(Pending::Server(m)),
            Err(err) => store.notice(Level::Warning, format!("message skipped: {err}")),
        }
    }

    fn on_close(&self, reason: Option<(u16, String)>) {
        let (disposed, incompatible, store) = {
            let s = self.0.borrow();
            (s.disposed, s.incompatible, s.store)
        };
        if disposed || incompatible {
            return;
        }
        if let Some((code, reason)) = reason.filter(|(_, r)| !r.is_empty()) {
            store.notice(
                Level::Warning,
                format!("connection closed ({code}): {reason}"),
            );
        }
        self.schedule_retry();
    }

    /// Drops the socket as a network failure would, and reconnects after the backoff delay.
    pub fn interrupt(&self) {
        self.schedule_retry();
    }

    fn schedule_retry(&self) {
        let mut s = self.0.borrow_mut();
        if s.disposed || s.incompatible {
            return;
        }
        if let Some(ws) = s.ws.take() {
            silence_and_close(&ws);
        }
        // The next runtime, when there are several: one that went away may be gone for good.
        s.current = endpoints::next(s.current, s.urls.len());
        let attempt = s.attempt;
        s.attempt += 1;
        let in_ms = s.backoff.delay_ms(attempt, js_sys::Math::random());
        s.status.set(Status::Reconnecting {
            in_ms,
            attempt: attempt + 1,
        });
        // Weak: a timer cleared before it fires never frees its closure, which must not keep
        // a disposed connection's state.
        let this = Rc::downgrade(&self.0);
        s.retry_timer = set_timeout(
            move || {
                if let Some(state) = this.upgrade() {
                    Connection(state).connect();
                }
            },
            std::time::Duration::from_millis(u64::from(in_ms)),
        );
    }

    /// Reconnects now (the retry button, or a gap to resume from).
    pub fn reconnect_now(&self) {
        let mut s = self.0.borrow_mut();
        if let Some(t) = s.retry_timer.take() {
            t.clear();
        }
        if let Some(ws) = s.ws.take() {
            silence_and_close(&ws);
        }
        s.attempt = 0;
        drop(s);
        self.connect();
    }

    /// Closes for good.
    pub fn dispose(&self) {
        let mut s = self.0.borrow_mut();
        s.disposed = true;
        if let Some(t) = s.retry_timer.take() {
            t.clear();
        }
        if let Some(ws) = s.ws.take() {
            silence_and_close(&ws);
        }
        s.closures.clear();
    }
}

/// Closes a socket we are done with, its handlers first: its late messages and its close must
/// not reach a connection that has moved on.
fn silence_and_close(ws: &WebSocket) {
    ws.set_onmessage(None);
    ws.set_onclose(None);
    let _ = ws.close();
}

/// A frame's JSON text, shared so that a large value in it can keep it instead of a copy of
/// itself: a binary frame's bytes (one bulk copy into wasm and a UTF-8 check, where a string
/// costs a decode in the browser and a copy one UTF-16 unit at a time), or a text frame's
/// string. None for bytes that are not UTF-8.
fn frame_text(data: &wasm_bindgen::JsValue) -> Option<Arc<str>> {
    if let Some(text) = data.as_string() {
        return Some(Arc::from(text));
    }
    let buffer = data.dyn_ref::<js_sys::ArrayBuffer>()?;
    let bytes = js_sys::Uint8Array::new(buffer);
    let len = bytes.length() as usize;
    let mut frame = Arc::<[u8]>::new_uninit_slice(len);
    let dst = Arc::get_mut(&mut frame)?;
    // SAFETY: the view covers exactly `dst`, which nothing reads before the copy fills it.
    unsafe { js_sys::Uint8Array::view_mut_raw(dst.as_mut_ptr().cast(), len) }.set(&bytes, 0);
    // SAFETY: every byte was written just above.
    let frame = unsafe { frame.assume_init() };
    std::str::from_utf8(&frame).ok()?;
    // SAFETY: the bytes are UTF-8 (checked just above), and `str` has the layout of `[u8]`.
    Some(unsafe { Arc::from_raw(Arc::into_raw(frame) as *const str) })
}
