//! A `switchboard serve` process on a test's file, and a small blocking HTTP client
//! for it. The server listens on 127.0.0.1:0; its address comes from the line it
//! prints on stderr, and the rest of stderr (one line per request) is kept as its log.
//! The client answers every request with a [`Reply`] and fails the test on a 500.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::Db;

/// How long a server may take to print its address, or to stop after SIGTERM.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running `switchboard serve`. Dropping it kills the process; [`Server::stop`]
/// stops it the way an operator would (SIGTERM) and returns how it ended.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
}

/// How a server process ended: its exit status and everything it wrote on stderr.
#[derive(Debug)]
pub struct Stopped {
    pub status: ExitStatus,
    pub log: String,
}

impl Server {
    /// `serve --listen 127.0.0.1:0` on `db`; panics if it does not start.
    pub fn start(db: &Db) -> Server {
        Server::start_on(db, "127.0.0.1:0")
            .unwrap_or_else(|s| panic!("serve did not start ({}): {}", s.status, s.log))
    }

    /// `serve --listen ADDR` on `db`. `Err` with the exit status and stderr when the
    /// process ends before it serves.
    pub fn start_on(db: &Db, listen: &str) -> Result<Server, Stopped> {
        let mut cmd = db.cmd(&["serve", "--listen", listen]);
        // The caller's RUST_LOG could silence the request lines the log checks read.
        cmd.env_remove("RUST_LOG");
        Server::spawn(cmd)
    }

    /// Runs `cmd` (a `serve` command) and waits for its "serving ... on http://ADDR"
    /// line.
    pub fn spawn(mut cmd: Command) -> Result<Server, Stopped> {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchboard serve");
        let stderr = child.stderr.take().expect("serve's stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel::<SocketAddr>();
        // Reads stderr to its end: the address once, then every line into the log
        // (an undrained pipe would block the server once it fills).
        let reader = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(addr) = serving_addr(&line)
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(addr);
                    }
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };
        let mut server = Server {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            reader: Some(reader),
        };
        match rx.recv_timeout(PATIENCE) {
            Ok(addr) => {
                server.addr = addr;
                Ok(server)
            }
            // stderr closed without the line: the process ended (or is ending).
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(server.wait(PATIENCE)),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("serve printed no address in {PATIENCE:?}: {}", server.log())
            }
        }
    }

    /// `http://127.0.0.1:PORT` followed by `path` (a server listening on 0.0.0.0 is
    /// reached over loopback too).
    pub fn url(&self, path: &str) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}{path}")
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("server still owned").id()
    }

    /// Everything the server wrote on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Request log lines (`METHOD PATH STATUS ...`) that answered `status`.
    pub fn log_lines_with_status(&self, status: u16) -> Vec<String> {
        let needle = format!(" {status} ");
        self.log()
            .lines()
            .filter(|l| l.contains(" INFO ") && l.contains(&needle))
            .map(str::to_string)
            .collect()
    }

    /// SIGTERM, then asserts a clean stop: exit 0, the "stopped" line, no request
    /// answered 500, no panic text. Returns how it ended.
    pub fn stop_cleanly(self) -> Stopped {
        let s = self.stop();
        assert!(
            s.status.success(),
            "serve exited with {}: {}",
            s.status,
            s.log
        );
        assert!(s.log.contains("switchboard: stopped"), "{}", s.log);
        assert_clean_log(&s.log);
        s
    }

    /// The exit status if the process has ended, without waiting.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .expect("server still owned")
            .try_wait()
            .expect("poll serve")
    }

    /// Sends SIGTERM and returns at once.
    pub fn terminate(&self) {
        signal(self.pid(), libc::SIGTERM);
    }

    /// SIGTERM, then waits for the process to end.
    pub fn stop(self) -> Stopped {
        self.terminate();
        self.wait(PATIENCE)
    }

    /// Waits for the process to end by itself (after [`Server::terminate`]); kills it
    /// and panics after `timeout`.
    pub fn wait(mut self, timeout: Duration) -> Stopped {
        let mut child = self.child.take().expect("server still owned");
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait for serve") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "serve did not stop within {timeout:?}; killed. stderr: {}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        Stopped {
            status,
            log: self.log(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The request lines of a server's log as (method, path, status).
pub fn requests_in_log(log: &str) -> Vec<(String, String, u16)> {
    log.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let _at = w.next()?;
            if w.next()? != "INFO" {
                return None;
            }
            let method = w.next()?.to_string();
            let path = w.next()?.to_string();
            let status = w.next()?.parse().ok()?;
            Some((method, path, status))
        })
        .collect()
}

/// No request answered 500, no internal error was logged, nothing panicked.
pub fn assert_clean_log(log: &str) {
    let failed: Vec<_> = requests_in_log(log)
        .into_iter()
        .filter(|r| r.2 == 500)
        .collect();
    assert!(
        failed.is_empty(),
        "requests answered 500: {failed:?}\n{log}"
    );
    assert!(!log.contains("internal error"), "{log}");
    super::assert_no_panic(log);
}

/// Sends `sig` to process `pid`.
pub fn signal(pid: u32, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(pid).expect("pid fits pid_t");
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child's.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(rc, 0, "kill({pid}, {sig}) failed");
}

/// The address in `switchboard: serving F on http://ADDR (API ...`.
fn serving_addr(line: &str) -> Option<SocketAddr> {
    if !line.starts_with("switchboard: serving ") {
        return None;
    }
    let rest = &line[line.rfind(" on http://")? + " on http://".len()..];
    rest.split_whitespace().next()?.parse().ok()
}

/// One answer: status, headers and body text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    /// The body as JSON; panics (with the body) if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and returns the JSON body.
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        self.json()
    }

    /// Asserts a problem+json answer with `status` (in the header line and the body)
    /// and a non-empty `detail`; returns the body.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "body: {}", self.text);
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{status}: {}",
            self.text
        );
        let p = self.json();
        assert_eq!(p["status"], status, "{p}");
        for key in ["type", "title", "detail"] {
            assert!(
                p[key].as_str().is_some_and(|s| !s.is_empty()),
                "no {key}: {p}"
            );
        }
        p
    }
}

/// A blocking client for one server, optionally with a bearer token. Every answer of
/// [`Api::send`] and the shorthands is checked not to be a 500.
#[derive(Clone)]
pub struct Api {
    base: String,
    client: Client,
    token: Option<String>,
}

impl Api {
    pub fn new(server: &Server) -> Api {
        Api::at(&server.url(""))
    }

    /// A client for `base` (`http://HOST:PORT`).
    pub fn at(base: &str) -> Api {
        let client = Client::builder()
            .no_proxy()
            .timeout(PATIENCE)
            .build()
            .expect("HTTP client");
        Api {
            base: base.to_string(),
            client,
            token: None,
        }
    }

    /// The same client, sending `Authorization: Bearer TOKEN`.
    pub fn with_token(&self, token: &str) -> Api {
        Api {
            token: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// A client with its own connection pool (one per thread in load tests).
    pub fn fresh(&self) -> Api {
        let mut a = Api::at(&self.base);
        a.token = self.token.clone();
        a
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[])
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, Some(body.to_string()), &[])
    }

    pub fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PUT, path, Some(body.to_string()), &[])
    }

    pub fn patch(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PATCH, path, Some(body.to_string()), &[])
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None, &[])
    }

    /// Any request; `body` is sent as is with `Content-Type: application/json`.
    /// Panics on a transport error or a 500.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let what = format!("{method} {path}");
        let r = self
            .try_send(method, path, body, headers)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_ne!(r.status, 500, "{what} answered 500: {}", r.text);
        r
    }

    /// Like [`Api::send`], but a transport error is returned (a server that is
    /// stopping may close the connection) and the status is not checked.
    pub fn try_send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> reqwest::Result<Reply> {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send()?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text()?;
        Ok(Reply {
            status,
            headers,
            text,
        })
    }
}
