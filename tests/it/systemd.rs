//! The daemon under a (simulated) systemd: the test binds the notify socket
//! itself and reads what the real binary reports on it.

use crate::support::{Env, fixture_path, free_addr, http_listen};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the daemon if the test fails before it stops it.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The notify socket and every message read from it so far.
struct Notify {
    socket: UnixDatagram,
    seen: Vec<String>,
}

impl Notify {
    /// Reads messages until one has the line `want`; returns that message.
    fn wait_for(&mut self, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.socket.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                self.seen.push(msg.clone());
                if msg.lines().any(|l| l == want) {
                    return msg;
                }
            }
        }
        panic!("no {want:?} within 20 s; got {:#?}", self.seen);
    }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn run_notifies_ready_watchdog_reload_and_stopping() {
    let env = Env::new(&format!(
        "{}[[sources]]\nid = \"spool\"\nkind = \"dir\"\npath = \"{}\"\ninterval = \"1s\"\n",
        http_listen(free_addr()),
        fixture_path("spool-mt").display()
    ));
    let path = env.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut notify = Notify {
        socket,
        seen: vec![],
    };
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(["run", "--config"])
            .arg(env.config())
            .env("RUST_LOG", "warn")
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", "300000")
            .env_remove("WATCHDOG_PID")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let ready = notify.wait_for("READY=1");
    assert!(
        ready.contains("STATUS=polling 1 source(s) with "),
        "{ready:?}"
    );
    // Pings every 150 ms (half of WATCHDOG_USEC) while the scheduler beats.
    notify.wait_for("WATCHDOG=1");
    notify.wait_for("WATCHDOG=1");

    signal(&child.0, "-HUP");
    let reloading = notify.wait_for("RELOADING=1");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading:?}");
    notify.wait_for("READY=1");

    signal(&child.0, "-TERM");
    notify.wait_for("STOPPING=1");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "stopped within 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn without_notify_socket_run_starts_and_stops_as_before() {
    // No NOTIFY_SOCKET, but a stray WATCHDOG_USEC: nothing to send to, and
    // the daemon must not mind.
    // Its own port: the default one is shared with every other test run.
    let env = Env::new(&http_listen(free_addr()));
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(["run", "--config"])
            .arg(env.config())
            .env("RUST_LOG", "warn")
            .env_remove("NOTIFY_SOCKET")
            .env("WATCHDOG_USEC", "100000")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Give it time to start (and to ping nobody a few times).
    let db = env.dir.path().join("state/tocsin.db");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !db.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.0.try_wait().unwrap().is_none(), "still running");
    signal(&child.0, "-TERM");
    assert!(child.0.wait().unwrap().success());
}
