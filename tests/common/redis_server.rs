//! A real `redis-server` (Debian's, installed by `.ci/run`) on a free loopback port, started by
//! the test and stopped when dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    /// With persistence: the folder of its append-only file (kept across restarts).
    data: Option<tempfile::TempDir>,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers.
    pub fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = RedisServer { child: None, port, data: None };
        server.restart();
        server
    }

    /// Starts one that keeps its data across restarts (an append-only file, fsync on every
    /// write), as a production Redis behind once-only notifications should.
    pub fn start_persistent() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = RedisServer { child: None, port, data: Some(tempfile::tempdir().unwrap()) };
        server.restart();
        server
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = self.child.as_ref().expect("running").id();
        let pid = libc::pid_t::try_from(pid).unwrap();
        // Never a group, never init: only the server this test started.
        assert!(pid > 1 && pid != libc::pid_t::try_from(std::process::id()).unwrap());
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "signal {signal} to redis-server {pid}");
    }

    /// (Re)starts it on the same port (after [`Self::stop`]).
    pub fn restart(&mut self) {
        let mut args: Vec<String> =
            ["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""].map(String::from).to_vec();
        match &self.data {
            Some(dir) => args.extend(
                ["--appendonly", "yes", "--appendfsync", "always", "--dir", dir.path().to_str().unwrap()]
                    .map(String::from),
            ),
            None => args.extend(["--appendonly", "no"].map(String::from)),
        }
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (Debian's redis-server; .ci/run installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (the port stops answering).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
