//! The HTTP server: routes, access checks, start and stop.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use user_trace_protocol::{ProducerReply, INGEST_PATH, PANEL_PATH};

use crate::config::Config;
use crate::hub::Hub;
use crate::storage::StorageError;
use crate::{access, ingest, otlp, panel, panel_socket};

type Params = Query<HashMap<String, String>>;

fn refuse((status, reason): (StatusCode, String)) -> Response {
    tracing::warn!(%status, %reason, "connection refused");
    (status, reason).into_response()
}

async fn ws_ingest(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Params,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(e) = access::check(&hub.config, &headers, q.get("token").map(String::as_str)) {
        return refuse(e);
    }
    let Some(slot) = hub.producer_slot() else {
        return refuse((
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many producers (limit {}, see --max-producers)",
                hub.config.max_producers
            ),
        ));
    };
    buffers(ws)
        .max_message_size(hub.config.max_message_bytes)
        .max_frame_size(hub.config.max_message_bytes)
        .on_upgrade(move |socket| ingest::serve(hub, socket, slot))
}

async fn http_ingest(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Params,
    body: Bytes,
) -> Response {
    if let Err(e) = access::check(&hub.config, &headers, q.get("token").map(String::as_str)) {
        return refuse(e);
    }
    let Ok(text) = String::from_utf8(body.into()) else {
        return (StatusCode::BAD_REQUEST, "the body must be UTF-8 JSON").into_response();
    };
    let reply = ingest::handle_owned(&hub, text, None).await;
    let status = match reply {
        // Not accepted for now: the client sends again later (or to another server).
        ProducerReply::Error { ref message, .. }
            if hub.is_stopped() || message.starts_with(ingest::STORAGE_FAILED) =>
        {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ProducerReply::Error { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let json = reply.to_json();
    let mut response = (status, [("content-type", "application/json")], json).into_response();
    cors(&headers, response.headers_mut());
    response
}

/// Lets a page on an allowed origin (the access check already passed) read the answer to its
/// POST: browser producers, such as the editor itself.
pub(crate) fn cors(request: &HeaderMap, response: &mut HeaderMap) {
    if let Some(origin) = request.get(header::ORIGIN) {
        response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        response.insert(header::VARY, HeaderValue::from_static("origin"));
    }
}

/// The CORS preflight of a browser's POST with a JSON body.
async fn preflight(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    if let Err(e) = access::check_origin(&hub.config, &headers) {
        return refuse(e);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let h = response.headers_mut();
    cors(&headers, h);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, authorization"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

async fn ws_panel(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    Query(q): Params,
    mut req: axum::extract::Request,
) -> Response {
    // Panels send only small control messages; what they are sent goes out in fragments.
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(Some(crate::panel::MAX_MESSAGE_BYTES))
        .max_frame_size(Some(crate::panel::MAX_MESSAGE_BYTES));
    let (response, socket) = match panel_socket::upgrade(&mut req, config) {
        Ok(upgrade) => upgrade,
        Err(refused) => return refused.into_response(),
    };
    if let Err(e) = access::check(&hub.config, &headers, q.get("token").map(String::as_str)) {
        return refuse(e);
    }
    let Some(slot) = hub.panel_slot() else {
        return refuse((
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many panels (limit {}, see --max-panels)",
                hub.config.max_panels
            ),
        ));
    };
    tokio::spawn(async move {
        if let Some(socket) = socket.await {
            panel::serve(hub, socket, slot).await;
        }
    });
    response
}

/// Small socket buffers for producers (panels get the same, `ws_panel`): an idle connection
/// costs little (tungstenite's defaults are 128 KiB each way); large messages still go
/// through, in more reads.
fn buffers(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(READ_BUFFER).write_buffer_size(0)
}

/// A connection's read buffer (producers' and panels').
const READ_BUFFER: usize = 16 << 10;

/// `ok`, and with the token (or on an open server) the session and head.
async fn health(State(hub): State<Arc<Hub>>, headers: HeaderMap, Query(q): Params) -> Response {
    if access::has_token(&hub.config, &headers, q.get("token").map(String::as_str)) {
        format!("ok session={} head={}\n", hub.session, hub.head()).into_response()
    } else {
        "ok\n".into_response()
    }
}

async fn host_guard(
    State(hub): State<Arc<Hub>>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    match access::check_host(&hub.config, request.headers()) {
        Ok(()) => next.run(request).await,
        Err(e) => refuse(e),
    }
}

pub fn router(hub: Arc<Hub>) -> Router {
    let limit = hub.config.max_message_bytes;
    Router::new()
        .route(
            INGEST_PATH,
            get(ws_ingest).post(http_ingest).options(preflight),
        )
        .route(PANEL_PATH, get(ws_panel))
        // OpenTelemetry exporters (OTLP/HTTP): see docs/OTEL.md.
        .route(
            otlp::TRACES_PATH,
            post(otlp::http::traces).options(preflight),
        )
        .route("/health", get(health))
        // Before every route and extractor: a request for another host gets nothing here.
        .layer(middleware::from_fn_with_state(hub.clone(), host_guard))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(hub)
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub hub: Arc<Hub>,
    task: JoinHandle<()>,
}

impl Running {
    /// Closes every connection and stops listening.
    pub async fn stop(self) {
        self.hub.stop();
        let _ = self.task.await;
    }

    /// Runs until the hub is stopped (Ctrl-C or SIGTERM in `main`).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Why a server did not start.
#[derive(Debug)]
pub enum StartError {
    Config(String),
    Storage(StorageError),
    Listen(SocketAddr, std::io::Error),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Config(m) => f.write_str(m),
            StartError::Storage(e) => e.fmt(f),
            StartError::Listen(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
        }
    }
}

impl std::error::Error for StartError {}

/// Accepts connections until the hub stops. Each connection waits for a slot among
/// `--max-connections` (so that sockets never run the process out of file descriptors) and
/// has `--handshake-timeout-secs` to send its request headers: idle sockets cannot lock new
/// clients out. A WebSocket leaves its slot when upgraded and takes a producer's or a panel's.
async fn serve(listener: TcpListener, app: Router, hub: Arc<Hub>) {
    let slots = Arc::new(Semaphore::new(hub.config.max_connections.max(1)));
    let handshake = Duration::from_secs(hub.config.handshake_timeout_secs.max(1));
    let mut stopping = hub.stopping();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopping.changed() => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(%peer, limit = hub.config.max_connections, "too many connections: closed (see --max-connections)");
            drop(tcp);
            continue;
        };
        // Frames are small and latency is the point: with Nagle's algorithm on, a small frame
        // (an ack, a panel batch) written while the previous one is unacknowledged waits for
        // the peer's delayed ACK, up to ~40 ms on Linux (see benches/fanout.rs).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stopping = hub.stopping();
        tokio::spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(handshake)
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
            drop(slot);
        });
    }
    // The listener is closed; let every connection send its close frame (and a batch being
    // stored finish) before `Running::wait` returns and the process may exit.
    let max = hub.config.max_connections.max(1);
    let give_up = tokio::time::Instant::now() + Duration::from_secs(5);
    while (hub.connections() > 0 || slots.available_permits() < max)
        && tokio::time::Instant::now() < give_up
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Binds and starts serving; returns once the socket listens.
pub async fn start(config: Config) -> Result<Running, StartError> {
    config.validate().map_err(StartError::Config)?;
    let hub = if config.nats.is_some() {
        Hub::shared(config).await
    } else {
        Hub::new(config)
    }
    .map_err(StartError::Storage)?;
    let listener = TcpListener::bind(hub.config.listen)
        .await
        .map_err(|e| StartError::Listen(hub.config.listen, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Listen(hub.config.listen, e))?;
    let app = router(hub.clone());
    tokio::spawn(hub.clone().compactor());
    if hub.is_shared() {
        tokio::spawn(hub.clone().follow());
    }
    let task = tokio::spawn(serve(listener, app, hub.clone()));
    tracing::info!(%addr, session = %hub.session, "listening: producers on {INGEST_PATH} (OpenTelemetry on {}), panels on {PANEL_PATH}", otlp::TRACES_PATH);
    Ok(Running { addr, hub, task })
}
