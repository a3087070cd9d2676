//! The HTTP API under load, through the real binary (`switchboard serve`, release
//! build, synchronous=FULL): contacts created per second by `POST /api/v1/contacts`
//! from 1, 16, 64 and 256 concurrent keep-alive clients, with p50 and p99 latency;
//! `GET /api/v1/contacts?source=web&limit=100` on a file of 1,000,000 contacts; and,
//! in the same run, the floors the goals are ratios to: `switchboard ingest` of the
//! same contacts, and plain single-row INSERT transactions.
//!
//! `cargo bench --bench http`. Every client count gets a fresh file holding only the
//! roster plus ten operators for `web`, each with room for 100,000 contacts, so
//! every contact routes and none waits. The 1M file is routing's cached history (built once if missing).
//! After criterion, the POST loads and the floors run again interleaved, round by
//! round, so a disk or CPU shared with other work slows them alike; the summary
//! compares those per-round rates.
//!
//! The load generator is hand-written HTTP/1.1 over tokio's `TcpStream` on one thread
//! (a current-thread runtime): it shares the machine's cores with the server, so it
//! is kept as cheap as a client can be.

use std::fmt::Write as _;
use std::fs;
use std::hint::black_box;
use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use rusqlite::params;
use switchboard::domain::EntityRef;
use switchboard::store::{NewContact, OpenOptions, OperatorPatch, Store, now_ms};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::runtime::Runtime;

mod common;
use common::history::history_copy;
use common::{OPERATORS, remove_db, scratch, set_up_roster};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const CLIENTS: [usize; 4] = [1, 16, 64, 256];
/// Criterion's samples per benchmark; the summary's rates and latencies come from the
/// last this many calls (the measurement, not the warm-up).
const SAMPLES: usize = 10;
/// The size of a WAL file in its steady state: a writer that commits all the time
/// never lets the background checkpoint catch up, so the WAL grows until the
/// fallback checkpoint inside a commit (8,000 pages, `FALLBACK_PAGES` in
/// src/store/checkpoint.rs) empties it, and then wraps within that size. Until then
/// every commit also grows the file, and its fsync must commit the new size to the
/// file system's journal, which is slow and, on a machine where others write, very
/// slow. Every measured file is brought to this size first, untimed.
const WAL_STEADY_BYTES: u64 = 32 + 8_000 * (24 + 4096);
/// Warm-up of a fresh server: at most this long (whatever the WAL's size).
const WARM_UP_MAX: Duration = Duration::from_secs(15);
/// Lines of the ingest floor.
const INGEST_LINES: u64 = 100_000;
/// Contacts in the 1M file.
const LARGE: u64 = 1_000_000;
/// Room for contacts per operator (the most the store allows).
const MAX_LOAD: u32 = 100_000;
/// Operators added to the shared roster, all taking `web`: with the roster's five,
/// `web` has room for 1,500,000 contacts, more than a server here takes in a run.
const EXTRA_OPERATORS: u32 = 10;

// ---------------------------------------------------------------------------------
// Files and the server.

/// A new file at `path` holding the roster, every operator with room for
/// [`MAX_LOAD`] contacts, and [`EXTRA_OPERATORS`] more operators who take `web`.
fn fresh_roster(path: &Path) {
    remove_db(path);
    let mut store = Store::open(
        path,
        OpenOptions {
            actor: Some("bench".into()),
            ..OpenOptions::default()
        },
    )
    .expect("open fresh file");
    set_up_roster(&mut store);
    for (name, ..) in OPERATORS {
        store
            .update_operator(
                &EntityRef::parse(name),
                &OperatorPatch {
                    max_load: Some(MAX_LOAD),
                    ..OperatorPatch::default()
                },
            )
            .expect("raise max_load");
    }
    for i in 1..=EXTRA_OPERATORS {
        let name = format!("web-{i:02}");
        store
            .add_operator(&name, MAX_LOAD, true)
            .expect("add operator");
        store
            .set_weight(&EntityRef::parse(&name), &EntityRef::parse("web"), 5)
            .expect("set weight");
    }
}

/// The body of contact `n`: the one the API's documentation shows, a new lead each.
fn contact_json(out: &mut Vec<u8>, prefix: &str, n: u64) {
    let mut s = String::with_capacity(64);
    let _ = write!(
        s,
        r#"{{"source":"web","email":"{prefix}{n}@example.com","message":"hi"}}"#
    );
    out.extend_from_slice(s.as_bytes());
}

fn wal_bytes(db: &Path) -> u64 {
    fs::metadata(format!("{}-wal", db.display()))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// Contacts and waiting contacts in the file (checked after each server stops).
fn counts(path: &Path) -> (i64, i64) {
    let store = Store::open(path, OpenOptions::default()).expect("open to check");
    store
        .connection()
        .query_row(
            "SELECT count(*), count(*) FILTER (WHERE operator_id IS NULL) FROM contact",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count contacts")
}

/// `switchboard --db FILE serve --listen 127.0.0.1:0` with request logs off.
struct Server {
    child: Child,
    addr: SocketAddr,
    drain: Option<JoinHandle<()>>,
}

impl Server {
    fn start(db: &Path) -> Server {
        let mut child = Command::new(BIN)
            .arg("--db")
            .arg(db)
            .arg("serve")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .env_remove("SWITCHBOARD_SYNCHRONOUS")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start switchboard serve");
        let stderr = child.stderr.take().expect("serve's stderr");
        let mut lines = BufReader::new(stderr).lines();
        let addr = loop {
            let line = match lines.next() {
                Some(Ok(line)) => line,
                _ => panic!("switchboard serve ended before listening"),
            };
            let found = line
                .strip_prefix("switchboard: serving ")
                .and_then(|rest| rest.split(" on http://").nth(1))
                .and_then(|rest| rest.split(' ').next())
                .and_then(|a| a.parse::<SocketAddr>().ok());
            match found {
                Some(a) => break a,
                None => eprintln!("serve: {line}"),
            }
        };
        // Keep reading stderr (a full pipe would block the server); show what is not
        // the usual shutdown chatter.
        let drain = std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if !line.starts_with("switchboard: stop") {
                    eprintln!("serve: {line}");
                }
            }
        });
        Server {
            child,
            addr,
            drain: Some(drain),
        }
    }

    /// CPU time of the server process so far (Linux, from `/proc/PID/stat`, in ticks
    /// of 10 ms; `None` elsewhere).
    fn cpu(&self) -> Option<Duration> {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(Duration::from_millis(ticks * 10))
    }

    /// SIGTERM, as an operator stops it: the server finishes what is in flight and
    /// commits what intake holds.
    fn stop(mut self) {
        #[cfg(unix)]
        {
            let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits");
            // SAFETY: kill(2) on our own child's pid, which has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        #[cfg(not(unix))]
        let _ = self.child.kill();
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("poll serve") {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("switchboard serve did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(d) = self.drain.take() {
            let _ = d.join();
        }
        assert!(status.success(), "switchboard serve failed: {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only when `stop` did not run (a panic): do not leave a server behind.
        if self.drain.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

// ---------------------------------------------------------------------------------
// The load generator: HTTP/1.1 keep-alive by hand.

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    /// The response being read.
    buf: Vec<u8>,
    chunk: Box<[u8]>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        Conn {
            stream,
            buf: Vec::with_capacity(64 * 1024),
            chunk: vec![0; 64 * 1024].into_boxed_slice(),
        }
    }

    async fn send(&mut self, request: &[u8]) -> io::Result<()> {
        let mut sent = 0;
        while sent < request.len() {
            self.stream.writable().await?;
            match self.stream.try_write(&request[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads one whole response; its status, and the body in `self.body()`.
    async fn response(&mut self) -> io::Result<u16> {
        self.buf.clear();
        let mut whole = None;
        loop {
            if whole.is_none()
                && let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n")
            {
                let length = content_length(&self.buf[..end]).ok_or_else(|| {
                    io::Error::other("a response without Content-Length (not expected of axum)")
                })?;
                whole = Some(end + 4 + length);
            }
            if whole.is_some_and(|w| self.buf.len() >= w) {
                break;
            }
            self.stream.readable().await?;
            match self.stream.try_read(&mut self.chunk) {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => self.buf.extend_from_slice(&self.chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        std::str::from_utf8(self.buf.get(9..12).unwrap_or_default())
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other("no status line"))
    }

    fn body(&self) -> &[u8] {
        let start = self
            .buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(0, |e| e + 4);
        &self.buf[start..]
    }
}

fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|b| *b == b'\n').find_map(|line| {
        let line = std::str::from_utf8(line).ok()?;
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

fn post_request(out: &mut Vec<u8>, prefix: &str, n: u64) {
    let mut body = Vec::with_capacity(80);
    contact_json(&mut body, prefix, n);
    let _ = write_head(out, "POST", "/api/v1/contacts", body.len());
    out.extend_from_slice(&body);
}

fn write_head(out: &mut Vec<u8>, method: &str, path: &str, length: usize) -> std::fmt::Result {
    let mut s = String::with_capacity(160);
    write!(s, "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n")?;
    if method == "POST" {
        write!(
            s,
            "content-type: application/json\r\ncontent-length: {length}\r\n"
        )?;
    }
    s.push_str("\r\n");
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Latencies of one measured call, in microseconds.
type Latencies = Vec<u32>;

/// One client: posts contacts numbered by `next` until it reaches `end`.
async fn poster(conn: &mut Conn, next: &AtomicU64, end: u64, latencies: &mut Latencies) {
    let mut request = Vec::with_capacity(256);
    loop {
        let n = next.fetch_add(1, Ordering::Relaxed);
        if n >= end {
            return;
        }
        request.clear();
        post_request(&mut request, "p", n);
        let started = Instant::now();
        conn.send(&request).await.expect("send a request");
        let status = conn.response().await.expect("read a response");
        latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
        assert_eq!(
            status,
            201,
            "POST /api/v1/contacts: {}",
            String::from_utf8_lossy(conn.body())
        );
    }
}

/// One measured call: how many, how long, what the server and this thread spent.
struct Call {
    requests: u64,
    elapsed: Duration,
    latencies: Latencies,
    server_cpu: Duration,
    client_cpu: Duration,
}

/// A server on a fresh roster file and its clients' connections.
struct PostTarget {
    clients: usize,
    server: Option<Server>,
    conns: Vec<Conn>,
    /// The next contact's number; also how many were posted.
    next: u64,
    calls: Vec<Call>,
    path: PathBuf,
}

impl PostTarget {
    fn start(rt: &Runtime, dir: &Path, clients: usize) -> PostTarget {
        let path = dir.join(format!("post-{clients}.db"));
        fresh_roster(&path);
        let server = Server::start(&path);
        let conns = rt.block_on(async {
            let mut conns = Vec::with_capacity(clients);
            for _ in 0..clients {
                conns.push(Conn::open(server.addr).await);
            }
            conns
        });
        let mut target = PostTarget {
            clients,
            server: Some(server),
            conns,
            next: 0,
            calls: Vec::new(),
            path,
        };
        // Untimed: until the WAL has reached its steady size.
        let started = Instant::now();
        while wal_bytes(&target.path) < WAL_STEADY_BYTES && started.elapsed() < WARM_UP_MAX {
            target.run(rt, 200.max(4 * clients as u64));
        }
        target.calls.clear();
        target
    }

    /// `requests` contacts posted by all clients at once, each sending its next as soon
    /// as it has its answer; the time from the first send to the last answer.
    fn run(&mut self, rt: &Runtime, requests: u64) -> Duration {
        let next = AtomicU64::new(self.next);
        let end = self.next + requests;
        let server = self.server.as_ref().expect("server running");
        let server_cpu = server.cpu();
        let client_cpu = thread_cpu();
        let mut latencies: Vec<Latencies> = vec![Vec::new(); self.conns.len()];
        let started = Instant::now();
        rt.block_on(futures::future::join_all(
            self.conns
                .iter_mut()
                .zip(latencies.iter_mut())
                .map(|(conn, lat)| poster(conn, &next, end, lat)),
        ));
        let elapsed = started.elapsed();
        let cpu_since = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => Duration::ZERO,
        };
        self.calls.push(Call {
            requests,
            elapsed,
            latencies: latencies.concat(),
            server_cpu: cpu_since(server_cpu, server.cpu()),
            client_cpu: cpu_since(client_cpu, thread_cpu()),
        });
        self.next = end;
        elapsed
    }

    /// Stops the server and checks the file: every answered contact is in it, and
    /// every one got an operator.
    fn finish(mut self) {
        drop(std::mem::take(&mut self.conns));
        if let Some(s) = self.server.take() {
            s.stop();
        }
        let (contacts, waiting) = counts(&self.path);
        assert_eq!(
            contacts as u64, self.next,
            "{} clients: every 201 should be in the file",
            self.clients
        );
        assert_eq!(waiting, 0, "contacts waited: raise MAX_LOAD");
        remove_db(&self.path);
    }
}

/// Sequential `GET /api/v1/contacts?source=web&limit=100` on one connection.
struct GetTarget {
    server: Option<Server>,
    conn: Conn,
    latencies: Vec<Latencies>,
    _dir: TempDir,
}

const FIRST_PAGE: &str = "/api/v1/contacts?source=web&limit=100";

impl GetTarget {
    fn start(rt: &Runtime) -> GetTarget {
        let dir = scratch("http-get-");
        let path = dir.path().join("large.db");
        history_copy(&path, LARGE);
        let server = Server::start(&path);
        let mut conn = rt.block_on(Conn::open(server.addr));
        // Once, untimed: the answer is the first page of `web`.
        let mut request = Vec::new();
        let _ = write_head(&mut request, "GET", FIRST_PAGE, 0);
        let status = rt.block_on(async {
            conn.send(&request).await.expect("send");
            conn.response().await.expect("response")
        });
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(conn.body()));
        let page: serde_json::Value = serde_json::from_slice(conn.body()).expect("a JSON list");
        let items = page.as_array().expect("a JSON list");
        assert_eq!(items.len(), 100, "a full first page");
        assert!(items.iter().all(|c| c["source"] == "web"));
        GetTarget {
            server: Some(server),
            conn,
            latencies: Vec::new(),
            _dir: dir,
        }
    }

    fn run(&mut self, rt: &Runtime, iters: u64) -> Duration {
        let mut request = Vec::new();
        let _ = write_head(&mut request, "GET", FIRST_PAGE, 0);
        let mut latencies = Vec::with_capacity(iters as usize);
        let conn = &mut self.conn;
        let started = Instant::now();
        rt.block_on(async {
            for _ in 0..iters {
                let t = Instant::now();
                conn.send(&request).await.expect("send");
                let status = conn.response().await.expect("response");
                latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                assert_eq!(status, 200);
                black_box(conn.body());
            }
        });
        let elapsed = started.elapsed();
        self.latencies.push(latencies);
        elapsed
    }

    fn finish(mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

// ---------------------------------------------------------------------------------
// The floors.

/// `switchboard ingest` of [`INGEST_LINES`] contacts shaped like the POSTs' bodies.
struct Ingest {
    input: PathBuf,
    db: PathBuf,
    /// CPU time of the ingest processes so far (all threads, user and system).
    cpu: std::cell::Cell<Duration>,
}

impl Ingest {
    fn new(dir: &Path) -> Ingest {
        let mut lines = Vec::with_capacity(INGEST_LINES as usize * 64);
        for n in 0..INGEST_LINES {
            contact_json(&mut lines, "i", n);
            lines.push(b'\n');
        }
        let input = dir.join("ingest.jsonl");
        fs::write(&input, &lines).expect("write ingest input");
        // On disk before anything is timed (dirty pages written back during a
        // measurement slow its fsyncs).
        fs::File::open(&input)
            .and_then(|f| f.sync_all())
            .expect("sync ingest input");
        Ingest {
            input,
            db: dir.join("ingest.db"),
            cpu: std::cell::Cell::new(Duration::ZERO),
        }
    }

    /// One run on a fresh roster file, spawn to exit.
    fn run(&self) -> Duration {
        fresh_roster(&self.db);
        let cpu = children_cpu();
        let started = Instant::now();
        let status = Command::new(BIN)
            .arg("--db")
            .arg(&self.db)
            .arg("ingest")
            .arg(&self.input)
            .env_remove("SWITCHBOARD_SYNCHRONOUS")
            .stdout(Stdio::null())
            .status()
            .expect("run switchboard ingest");
        let elapsed = started.elapsed();
        assert!(status.success(), "switchboard ingest failed: {status}");
        // The only child reaped meanwhile is this ingest (servers are reaped when they
        // stop).
        if let (Some(a), Some(b)) = (cpu, children_cpu()) {
            self.cpu.set(self.cpu.get() + b.saturating_sub(a));
        }
        elapsed
    }
}

/// One `BEGIN IMMEDIATE; INSERT one row; COMMIT` per iteration, on a file opened by
/// `Store::open` (WAL, synchronous=FULL), as in benches/routing.rs.
struct Plain {
    store: Store,
    next: i64,
}

impl Plain {
    fn open(dir: &Path) -> Plain {
        let store = Store::open(
            dir.join("plain.db"),
            OpenOptions {
                actor: Some("bench".into()),
                ..OpenOptions::default()
            },
        )
        .expect("open plain file");
        store
            .connection()
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL,
                                 message TEXT NOT NULL, created_at INTEGER NOT NULL)",
            )
            .expect("create table");
        // Untimed: the WAL at its steady size at once (see `WAL_STEADY_BYTES`), by one
        // transaction of 8,200 pages, which the fallback checkpoint then empties, and
        // another that frees them.
        grow_wal(&store);
        Plain { store, next: 0 }
    }

    fn run(&mut self, iters: u64) -> Duration {
        let rows: Vec<String> = (0..iters as i64)
            .map(|i| format!("hi {}", self.next + i))
            .collect();
        self.next += iters as i64;
        let conn = self.store.connection();
        let started = Instant::now();
        for message in &rows {
            conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
            conn.prepare_cached(
                "INSERT INTO t (source_id, message, created_at) VALUES (?1, ?2, ?3)",
            )
            .expect("prepare insert")
            .execute(params![1, message, now_ms()])
            .expect("insert");
            conn.execute_batch("COMMIT").expect("commit");
        }
        started.elapsed()
    }
}

/// `Store::add_contact` of the same contacts in this process, one per transaction, on
/// a fresh roster file: the store's share of one client's request, without HTTP and
/// without the hand-over to the intake writer's thread and back.
struct Direct {
    store: Store,
    next: u64,
}

impl Direct {
    fn open(dir: &Path) -> Direct {
        let path = dir.join("direct.db");
        fresh_roster(&path);
        let store = Store::open(
            &path,
            OpenOptions {
                actor: Some("bench".into()),
                ..OpenOptions::default()
            },
        )
        .expect("open direct file");
        let mut direct = Direct { store, next: 0 };
        // Untimed: until the WAL has reached its steady size, as for the servers.
        let started = Instant::now();
        while wal_bytes(&path) < WAL_STEADY_BYTES && started.elapsed() < WARM_UP_MAX {
            direct.run(200);
        }
        direct
    }

    fn run(&mut self, iters: u64) -> Duration {
        let contacts: Vec<NewContact> = (self.next..self.next + iters)
            .map(|n| NewContact {
                source: Some(EntityRef::parse("web")),
                email: Some(format!("d{n}@example.com")),
                message: Some("hi".into()),
                ..NewContact::default()
            })
            .collect();
        self.next += iters;
        let started = Instant::now();
        for c in &contacts {
            let intake = self.store.add_contact(c).expect("add_contact");
            assert!(
                intake.contact.operator_id.is_some(),
                "contacts should route"
            );
        }
        started.elapsed()
    }
}

/// Brings the WAL of `store`'s file to [`WAL_STEADY_BYTES`] without thousands of
/// small commits.
fn grow_wal(store: &Store) {
    let path = store.path().to_path_buf();
    store
        .connection()
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS filler (b BLOB NOT NULL);
             BEGIN IMMEDIATE;
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8200)
             INSERT INTO filler SELECT zeroblob(3500) FROM n;
             COMMIT;
             DELETE FROM filler;",
        )
        .expect("grow the WAL");
    assert!(
        wal_bytes(&path) >= WAL_STEADY_BYTES,
        "the WAL should have grown to its steady size"
    );
}

// ---------------------------------------------------------------------------------
// Criterion, then an interleaved comparison.

/// CPU time of this process's reaped children, user and system (Unix; `None`
/// elsewhere).
fn children_cpu() -> Option<Duration> {
    #[cfg(unix)]
    {
        // SAFETY: getrusage(2) fills the struct it is given; all-zero is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
            return None;
        }
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        Some(time(usage.ru_utime) + time(usage.ru_stime))
    }
    #[cfg(not(unix))]
    None
}

/// On-CPU time of this thread (Linux; `None` elsewhere): the load generator's cost.
fn thread_cpu() -> Option<Duration> {
    let text = fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// What criterion measured, for the summary.
#[derive(Default)]
struct Measured {
    /// Per client count: the calls of the measurement.
    post: Vec<(usize, Vec<Call>)>,
    get: Vec<Latencies>,
    ingest: Vec<Duration>,
    /// CPU per ingested contact over all of criterion's runs (warm-up included).
    ingest_cpu_per_contact: Option<Duration>,
    plain: Vec<(u64, Duration)>,
}

fn criterion_benches(c: &mut Criterion, rt: &Runtime, dir: &Path) -> Measured {
    let mut measured = Measured::default();
    let mut group = c.benchmark_group("http");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(1));
    for clients in CLIENTS {
        let name = match clients {
            1 => "post_contact_1_client".to_string(),
            n => format!("post_contact_{n}_clients"),
        };
        let mut target = None;
        group.bench_function(&name, |b| {
            let t = target.get_or_insert_with(|| PostTarget::start(rt, dir, clients));
            b.iter_custom(|iters| t.run(rt, iters));
        });
        if let Some(mut t) = target {
            let keep = t.calls.len().saturating_sub(SAMPLES);
            measured.post.push((clients, t.calls.split_off(keep)));
            t.finish();
        }
    }

    group
        .sampling_mode(SamplingMode::Auto)
        .sample_size(30)
        .measurement_time(Duration::from_secs(4));
    let mut target = None;
    group.bench_function("get_first_page_1m", |b| {
        let t = target.get_or_insert_with(|| GetTarget::start(rt));
        b.iter_custom(|iters| t.run(rt, iters));
    });
    if let Some(mut t) = target {
        // Criterion's sample of 30 calls; the warm-up's calls are dropped.
        let keep = t.latencies.len().saturating_sub(30);
        measured.get = t.latencies.split_off(keep);
        t.finish();
    }

    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(SAMPLES)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(INGEST_LINES));
    let mut ingest = None;
    group.bench_function("floor_ingest_100k", |b| {
        let i = ingest.get_or_insert_with(|| Ingest::new(dir));
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = i.run();
                measured.ingest.push(t);
                total += t;
            }
            total
        });
    });
    let runs = measured.ingest.len() as u64;
    if let Some(i) = &ingest
        && runs > 0
        && !i.cpu.get().is_zero()
    {
        measured.ingest_cpu_per_contact = Some(i.cpu.get() / (runs * INGEST_LINES) as u32);
    }
    let keep = measured.ingest.len().saturating_sub(SAMPLES);
    measured.ingest.drain(..keep);

    group
        .sampling_mode(SamplingMode::Auto)
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    let mut plain = None;
    group.bench_function("floor_plain_insert_tx", |b| {
        let p = plain.get_or_insert_with(|| Plain::open(dir));
        b.iter_custom(|iters| {
            let t = p.run(iters);
            measured.plain.push((iters, t));
            t
        });
    });
    let keep = measured.plain.len().saturating_sub(20);
    measured.plain.drain(..keep);
    group.finish();
    measured
}

const ROUNDS: usize = 9;
/// Timed requests per round: one client, and 64.
const ROUND_ONE: u64 = 1_500;
const ROUND_MANY: u64 = 25_000;
const ROUND_PLAIN: u64 = 1_500;

/// Per-round rates of the interleaved comparison.
struct Rounds {
    one: Vec<f64>,
    many: Vec<f64>,
    ingest: Vec<f64>,
    plain: Vec<f64>,
    direct: Vec<f64>,
}

/// One client, 64 clients, the ingest floor, the plain INSERT floor and the store
/// alone, in turn, the order rotating each round. The two servers run throughout on
/// their own files, warmed up first as criterion's were (the plain and direct files
/// too); ingest starts each run on a fresh file, as it does in use.
fn interleaved(rt: &Runtime, dir: &Path) -> Rounds {
    let ingest = Ingest::new(dir);
    let mut plain = Plain::open(dir);
    plain.run(2 * ROUND_PLAIN);
    let mut direct = Direct::open(dir);
    let mut one = PostTarget::start(rt, dir, 1);
    one.run(rt, 2 * ROUND_ONE);
    let mut many = PostTarget::start(rt, dir, 64);
    many.run(rt, 2 * ROUND_MANY);
    let mut r = Rounds {
        one: Vec::new(),
        many: Vec::new(),
        ingest: Vec::new(),
        plain: Vec::new(),
        direct: Vec::new(),
    };
    let rate = |n: u64, t: Duration| n as f64 / t.as_secs_f64();
    for round in 0..ROUNDS {
        for k in 0..5 {
            match (round + k) % 5 {
                0 => r.one.push(rate(ROUND_ONE, one.run(rt, ROUND_ONE))),
                1 => r.many.push(rate(ROUND_MANY, many.run(rt, ROUND_MANY))),
                2 => r.ingest.push(rate(INGEST_LINES, ingest.run())),
                3 => r.plain.push(rate(ROUND_PLAIN, plain.run(ROUND_PLAIN))),
                _ => r.direct.push(rate(ROUND_ONE, direct.run(ROUND_ONE))),
            }
        }
    }
    one.finish();
    many.finish();
    r
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median and interquartile range of per-round ratios.
fn ratios(a: &[f64], b: &[f64]) -> (f64, f64, f64) {
    let mut r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    r.sort_by(f64::total_cmp);
    let q = |p: f64| r[((r.len() - 1) as f64 * p).round() as usize];
    (median(r.clone()), q(0.25), q(0.75))
}

fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "NOT met" }
}

fn summary(m: &Measured, rounds: &Rounds, load_before: &str) {
    println!(
        "\nhttp summary: POST /api/v1/contacts through `switchboard serve` (release), synchronous=FULL,\n\
         keep-alive clients on one thread, a fresh roster file per client count, every contact routed\n\
         (load average before {load_before}, after {})",
        loadavg()
    );
    println!(
        "  {:>7} {:>12} {:>8} {:>8} {:>8} {:>14} {:>14} {:>11}",
        "clients",
        "contacts/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "server CPU/req",
        "client CPU/req",
        "cores busy"
    );
    let ingest_rate = if m.ingest.is_empty() {
        f64::NAN
    } else {
        (INGEST_LINES * m.ingest.len() as u64) as f64
            / m.ingest.iter().sum::<Duration>().as_secs_f64()
    };
    let plain_rate = {
        let (n, t) = m
            .plain
            .iter()
            .fold((0, Duration::ZERO), |(n, t), (i, d)| (n + i, t + *d));
        n as f64 / t.as_secs_f64()
    };
    let mut rate_of = Vec::new();
    let mut p99_of = Vec::new();
    for (clients, calls) in &m.post {
        let requests: u64 = calls.iter().map(|c| c.requests).sum();
        let elapsed: Duration = calls.iter().map(|c| c.elapsed).sum();
        let server: Duration = calls.iter().map(|c| c.server_cpu).sum();
        let client: Duration = calls.iter().map(|c| c.client_cpu).sum();
        let mut lat: Vec<u32> = calls.iter().flat_map(|c| c.latencies.clone()).collect();
        lat.sort_unstable();
        let rate = requests as f64 / elapsed.as_secs_f64();
        let per = |d: Duration| d.as_secs_f64() * 1e6 / requests as f64;
        println!(
            "  {clients:>7} {rate:>12.0} {:>8.2} {:>8.2} {:>8.1} {:>11.0} µs {:>11.0} µs {:>11.2}",
            percentile_ms(&lat, 0.5),
            percentile_ms(&lat, 0.99),
            percentile_ms(&lat, 1.0),
            per(server),
            per(client),
            (server + client).as_secs_f64() / elapsed.as_secs_f64(),
        );
        rate_of.push((*clients, rate));
        p99_of.push((*clients, percentile_ms(&lat, 0.99)));
    }
    println!(
        "  floor: switchboard ingest of {INGEST_LINES} such contacts  {ingest_rate:>9.0} contacts/s{}",
        m.ingest_cpu_per_contact
            .map(|c| format!("  ({:.1} µs of CPU per contact)", c.as_secs_f64() * 1e6))
            .unwrap_or_default()
    );
    println!("  floor: plain single-row INSERT transactions  {plain_rate:>9.0} tx/s");
    let mut get: Vec<u32> = m.get.concat();
    get.sort_unstable();
    if !get.is_empty() {
        println!(
            "  GET {FIRST_PAGE} on {LARGE} contacts: median {:.2} ms, p99 {:.2} ms ({} requests)",
            percentile_ms(&get, 0.5),
            percentile_ms(&get, 0.99),
            get.len()
        );
    }
    let (one_plain, one_lo, one_hi) = ratios(&rounds.one, &rounds.plain);
    let (many_ingest, many_lo, many_hi) = ratios(&rounds.many, &rounds.ingest);
    let (direct_plain, direct_lo, direct_hi) = ratios(&rounds.direct, &rounds.plain);
    let (one_direct, one_direct_lo, one_direct_hi) = ratios(&rounds.one, &rounds.direct);
    println!(
        "  interleaved, {ROUNDS} rounds (medians): 1 client {:.0}/s, 64 clients {:.0}/s, ingest {:.0}/s, plain {:.0} tx/s,\n\
         \x20   store alone (Store::add_contact in process, one per transaction) {:.0}/s",
        median(rounds.one.clone()),
        median(rounds.many.clone()),
        median(rounds.ingest.clone()),
        median(rounds.plain.clone()),
        median(rounds.direct.clone()),
    );
    println!(
        "  store alone / plain {direct_plain:.2} (IQR {direct_lo:.2}-{direct_hi:.2}); 1 client / store alone {one_direct:.2} (IQR {one_direct_lo:.2}-{one_direct_hi:.2})"
    );
    // The same loops measured by criterion and again in the rounds, minutes apart: when
    // they disagree, others' work changed the machine's speed meanwhile.
    for (what, a, b) in [
        ("plain INSERT", plain_rate, median(rounds.plain.clone())),
        ("ingest", ingest_rate, median(rounds.ingest.clone())),
    ] {
        if (a / b - 1.0).abs() > 0.25 {
            println!(
                "  WARNING: {what} ran at {a:.0}/s under criterion and {b:.0}/s in the rounds: the machine's speed changed during the run; trust no ratio, run again when it is quiet"
            );
        }
    }
    let at = |v: &[(usize, f64)], n: usize| v.iter().find(|(c, _)| *c == n).map(|(_, r)| *r);
    println!("  goals:");
    if let Some(r) = at(&rate_of, 64) {
        println!(
            "    64 clients >= 20000 contacts/s:          {r:>7.0}         {}",
            verdict(r >= 20_000.0)
        );
        println!(
            "    64 clients / ingest, aim >= 0.5:          {:>7.2}         criterion; interleaved {many_ingest:.2} (IQR {many_lo:.2}-{many_hi:.2})",
            r / ingest_rate
        );
    }
    if let Some(p) = at(&p99_of, 64) {
        println!(
            "    p99 at 64 clients <= 50 ms:               {p:>7.1} ms      {}",
            verdict(p <= 50.0)
        );
    }
    if let Some(r) = at(&rate_of, 1) {
        println!(
            "    1 client / plain INSERT tx >= 0.4:        {:>7.2}         {} (criterion); interleaved {one_plain:.2} (IQR {one_lo:.2}-{one_hi:.2})",
            r / plain_rate,
            verdict(r / plain_rate >= 0.4)
        );
    }
    if !get.is_empty() {
        let med = percentile_ms(&get, 0.5);
        println!(
            "    GET first page at 1M, median <= 5 ms:     {med:>7.2} ms      {}",
            verdict(med <= 5.0)
        );
    }
}

/// Criterion's mode, as its command line says (`cargo test --benches` omits --bench).
fn benchmarking() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list") && !has("--profile-time")
}

fn main() {
    let load_before = loadavg();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let dir = scratch("http-");
    let mut criterion = Criterion::default().configure_from_args();
    let measured = criterion_benches(&mut criterion, &rt, dir.path());
    criterion.final_summary();
    // The summary needs every part; a filtered run prints criterion's figures only.
    if benchmarking()
        && measured.post.len() == CLIENTS.len()
        && !measured.get.is_empty()
        && !measured.ingest.is_empty()
        && !measured.plain.is_empty()
    {
        let rounds = interleaved(&rt, dir.path());
        summary(&measured, &rounds, &load_before);
    }
}
