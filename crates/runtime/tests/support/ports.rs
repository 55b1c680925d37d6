//! Loopback ports for servers the tests start as child processes (the runtime binary,
//! `nats-server`), which must be told their port before they bind it. Included with `#[path]`.

use std::sync::Mutex;

/// A free loopback port that no other caller in this process was given. The OS hands a port
/// that was bound and closed out again, so two tests running at once could each start a server
/// on the same port: one server fails to bind, and its test talks to the other test's server
/// (whose connections reset when that test stops it).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}
