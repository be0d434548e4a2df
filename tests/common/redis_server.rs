//! A real `redis-server` (Debian's, installed by `.ci/test`) on a free loopback port, started by
//! the test and stopped when dropped.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub(crate) struct RedisServer {
    child: Option<Child>,
    port: u16,
    /// With persistence: the folder of its append-only file (kept across restarts).
    data: Option<tempfile::TempDir>,
}

impl RedisServer {
    /// Starts one on a free port and waits until it answers.
    pub(crate) fn start() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = RedisServer { child: None, port, data: None };
        server.restart();
        server
    }

    /// Starts one that keeps its data across restarts (an append-only file, fsync on every
    /// write), as a production Redis behind once-only notifications should.
    pub(crate) fn start_persistent() -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = RedisServer { child: None, port, data: Some(tempfile::tempdir().unwrap()) };
        server.restart();
        server
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    pub(crate) fn pause(&self) {
        self.signal(rustix::process::Signal::STOP);
    }

    /// Lets a paused server go on (SIGCONT).
    pub(crate) fn resume(&self) {
        self.signal(rustix::process::Signal::CONT);
    }

    fn signal(&self, signal: rustix::process::Signal) {
        let pid = self.child.as_ref().expect("running").id();
        let pid = rustix::process::Pid::from_raw(i32::try_from(pid).unwrap()).unwrap();
        // Never a group, never init: only the server this test started.
        assert!(pid.as_raw_nonzero().get() > 1 && pid != rustix::process::getpid());
        rustix::process::kill_process(pid, signal)
            .unwrap_or_else(|e| panic!("signal {signal:?} to redis-server {pid:?}: {e}"));
    }

    /// (Re)starts it on the same port (after [`Self::stop`]).
    pub(crate) fn restart(&mut self) {
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
            .expect("redis-server is installed (Debian's redis-server; .ci/test installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start on port {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (the port stops answering).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
