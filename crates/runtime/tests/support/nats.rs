//! A real `nats-server` with JetStream on loopback, for the JetStream tests and the fan-out
//! bench (included by both with `#[path]`): killed when dropped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn binary() -> PathBuf {
    for p in ["/usr/sbin/nats-server", "/usr/bin/nats-server"] {
        if Path::new(p).exists() {
            return p.into();
        }
    }
    panic!("nats-server is not installed (apt-get install nats-server; `cargo xtask test` does)")
}

pub struct Nats {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Nats {
    /// Starts it with its store in `dir`, and waits (20 s at most) until it listens.
    pub fn start(dir: &Path, port: u16) -> Nats {
        let child = Command::new(binary())
            .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        let give_up = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < give_up,
                "nats-server did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Nats {
            child,
            port,
            dir: dir.to_owned(),
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// A clean stop (SIGTERM), then the same server again on the same store and port.
    #[allow(dead_code)] // the bench never restarts it
    pub fn restart(mut self) -> Nats {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let give_up = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() {
            assert!(
                Instant::now() < give_up,
                "nats-server did not stop within 20 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let (dir, port) = (self.dir.clone(), self.port);
        drop(self);
        Nats::start(&dir, port)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
