//! Routing throughput: one contact per transaction through `Store::add_contact`,
//! against plain single-row INSERT transactions on a file opened with the same pragmas
//! (WAL, synchronous=FULL, foreign_keys, busy_timeout), and with 10k against 1M
//! contacts of history.
//!
//! `cargo bench --bench routing`. The histories are built once through the store's
//! batch intake and cached under `target/bench-data/`; every run works on a copy, and a
//! copy is replaced by a fresh one (untimed) after taking 10% more contacts, so "10k of
//! history" stays 10k however many iterations criterion asks for. After criterion, the
//! three loops run again interleaved, round by round, so a disk or CPU shared with
//! other work slows them alike; the summary compares those per-round rates.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use rusqlite::params;
use switchboard::domain::{ContactStatus, EntityRef};
mod common;
use common::{SOURCES, SplitMix, mix, scatter, set_up_roster};
use switchboard::store::{Durability, NewContact, OpenOptions, Store, latest_version, now_ms};
use tempfile::TempDir;

// ---------------------------------------------------------------------------------
// Traffic: a deterministic stream of contacts. 70% come from new leads, 30% from
// returning ones (some of which bring an email the lead lacked); sources 40/30/20/10;
// half carry a unique idempotency key, so every transaction runs the full intake path.

/// Bump when the traffic or roster changes, so a cached history is rebuilt.
const HISTORY_FORMAT: u32 = 2;

struct Spec {
    contact: u64,
    lead: u64,
    source: usize,
    keyed: bool,
    adds_email: bool,
}

struct Traffic {
    rng: SplitMix,
    contacts: u64,
    leads: u64,
}

impl Traffic {
    fn new() -> Traffic {
        Traffic {
            rng: SplitMix(0x5EED),
            contacts: 0,
            leads: 0,
        }
    }

    fn next_spec(&mut self) -> Spec {
        let contact = self.contacts;
        self.contacts += 1;
        let returning = self.leads > 0 && self.rng.below(100) < 30;
        let lead = if returning {
            self.rng.below(self.leads)
        } else {
            self.leads += 1;
            self.leads - 1
        };
        let source = match self.rng.below(100) {
            0..40 => 0,
            40..70 => 1,
            70..90 => 2,
            _ => 3,
        };
        let keyed = self.rng.below(2) == 0;
        let adds_email = returning && self.rng.below(10) == 0;
        Spec {
            contact,
            lead,
            source,
            keyed,
            adds_email,
        }
    }

    fn next(&mut self) -> NewContact {
        let s = self.next_spec();
        // A lead's identifiers follow from its number: 30% external id, 40% phone,
        // 20% email, 10% phone and email.
        let kind = s.lead % 10;
        let external_id = (kind < 3).then(|| format!("crm-{:09}", scatter(s.lead)));
        let phone = matches!(kind, 3..=6 | 9).then(|| format!("+1 {:09}", scatter(s.lead)));
        let email = (matches!(kind, 7..=9) || s.adds_email)
            .then(|| format!("lead{:09}@example.com", scatter(s.lead)));
        NewContact {
            source: Some(EntityRef::from(SOURCES[s.source].0)),
            external_id,
            phone,
            email,
            name: Some(format!("Lead {}", s.lead)),
            message: Some(format!(
                "Order {}: please call me back about the delivery",
                s.contact
            )),
            idempotency_key: s.keyed.then(|| format!("req-{:016x}", mix(s.contact))),
        }
    }

    /// The state after `n` contacts, without building them.
    fn after(n: u64) -> Traffic {
        let mut t = Traffic::new();
        for _ in 0..n {
            t.next_spec();
        }
        t
    }
}

// ---------------------------------------------------------------------------------
// Files.

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .to_path_buf()
}

fn bench_data_dir() -> PathBuf {
    let dir = target_dir().join("bench-data");
    fs::create_dir_all(&dir).expect("create target/bench-data");
    dir
}

/// A scratch directory on the same disk as the cached history (never a tmpfs, where
/// fsync would be free and the figures meaningless).
fn scratch() -> TempDir {
    tempfile::Builder::new()
        .prefix("routing-")
        .tempdir_in(bench_data_dir())
        .expect("scratch dir")
}

fn options(durability: Durability) -> OpenOptions {
    OpenOptions {
        durability,
        seed: Some(7),
        actor: Some("bench".into()),
        ..OpenOptions::default()
    }
}

/// Closes every active contact except the newest `keep`, as one raw UPDATE (the
/// triggers bring operator.load down with it). Only the newest `window` contacts can
/// be open (everything older was closed by an earlier call), so the UPDATE walks that
/// rowid range instead of the whole history.
fn close_all_but(store: &Store, keep: i64, window: i64) {
    store
        .connection()
        .execute(
            "UPDATE contact SET status = 'closed', closed_at = created_at
             WHERE id > (SELECT max(id) FROM contact) - ?2
               AND id <= (SELECT max(id) FROM contact) - ?1 AND status = 'active'",
            [keep, window],
        )
        .expect("close contacts");
}

fn waiting(store: &Store) -> i64 {
    store
        .connection()
        .query_row(
            "SELECT count(*) FROM contact WHERE status = 'waiting'",
            [],
            |r| r.get(0),
        )
        .expect("count waiting")
}

/// Contacts left open at the end of the history, and after each measured sample.
const OPEN_AFTER: i64 = 500;
/// Contacts a fresh copy takes, untimed, before it is measured (see `Routing::warm_up`).
const WARM_UP: u64 = 200;

/// Builds `contacts` of history at `path`: batches through the store's own intake
/// (synchronous=NORMAL), one contact every 30 s of fake time ending now, closed in bulk.
fn build_history(path: &Path, contacts: u64) {
    let started = Instant::now();
    let mut store = Store::open(path, options(Durability::Normal)).expect("open history");
    set_up_roster(&mut store);
    let mut traffic = Traffic::new();
    const BATCH: u64 = 10_000;
    const CLOSE_EVERY: u64 = 50_000;
    let first_ms = now_ms() - contacts as i64 * 30_000;
    let mut done = 0;
    while done < contacts {
        let n = BATCH.min(contacts - done);
        let batch: Vec<NewContact> = (0..n).map(|_| traffic.next()).collect();
        store.set_clock(Some(first_ms + done as i64 * 30_000));
        for r in store.add_contacts(&batch).expect("add history batch") {
            let intake = r.expect("history contact");
            assert_eq!(
                intake.contact.status,
                ContactStatus::Active,
                "history must route, not wait: raise max_load or close more often"
            );
        }
        done += n;
        if done % CLOSE_EVERY == 0 || done == contacts {
            let keep = if done == contacts { OPEN_AFTER } else { 0 };
            close_all_but(&store, keep, CLOSE_EVERY as i64);
        }
    }
    store
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    drop(store);
    eprintln!(
        "built {contacts} contacts of history in {:.1?} ({})",
        started.elapsed(),
        path.display()
    );
}

/// A fingerprint (FNV-1a) of the schema a new file gets, so that a cached history is
/// rebuilt when the schema changes, even within one schema version.
fn schema_fingerprint() -> u64 {
    static FINGERPRINT: OnceLock<u64> = OnceLock::new();
    *FINGERPRINT.get_or_init(|| {
        let dir = scratch();
        let store = Store::open(dir.path().join("schema.db"), options(Durability::Normal))
            .expect("open a new file");
        let sql: String = store
            .connection()
            .query_row(
                "SELECT group_concat(sql, ';') FROM
                   (SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name)",
                [],
                |r| r.get(0),
            )
            .expect("read the schema");
        let page_size: i64 = store
            .connection()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("read the page size");
        let sql = format!("{sql};page_size={page_size}");
        sql.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
        })
    })
}

/// A private copy, at `copy`, of the cached history file of `contacts`, built first if
/// missing.
fn history_copy(copy: &Path, contacts: u64) {
    let cached = bench_data_dir().join(format!(
        "routing-history-{contacts}-schema{}-{:016x}-format{HISTORY_FORMAT}.db",
        latest_version(),
        schema_fingerprint()
    ));
    if !cached.exists() {
        let building = cached.with_extension(format!("building-{}", std::process::id()));
        remove_db(&building);
        build_history(&building, contacts);
        fs::rename(&building, &cached).expect("move history into the cache");
    }
    fs::copy(&cached, copy).expect("copy cached history");
    // Flush the copy now: hundreds of MB of dirty pages written back during the
    // measurement would slow every fsync of the benchmark.
    fs::File::open(copy)
        .and_then(|f| f.sync_all())
        .expect("sync the copy");
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

// ---------------------------------------------------------------------------------
// The measured loops.

/// On-CPU time of this thread (Linux; `None` elsewhere). Less disturbed than wall time
/// by other processes competing for the CPU, so the summary shows both.
fn thread_cpu() -> Option<Duration> {
    let text = fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Adds the thread's CPU time since `since` to `total`.
fn add_cpu(total: &mut Duration, since: Option<Duration>) {
    if let (Some(a), Some(b)) = (since, thread_cpu()) {
        *total += b.saturating_sub(a);
    }
}

/// One `Store::add_contact` per iteration on a file with history.
struct Routing {
    history: u64,
    /// CPU time inside the timed sections.
    cpu: Duration,
    /// Copies made so far (each gets a new file name).
    copies: u32,
    /// Contacts added since the file was copied from the cache.
    added: u64,
    store: Store,
    traffic: Traffic,
    dir: TempDir,
}

impl Routing {
    fn open(history: u64) -> Routing {
        let dir = scratch();
        let store = Self::open_copy(dir.path(), history, 0);
        let mut routing = Routing {
            history,
            cpu: Duration::ZERO,
            copies: 1,
            added: 0,
            store,
            traffic: Traffic::after(history),
            dir,
        };
        routing.warm_up();
        routing
    }

    /// Untimed: brings a fresh copy to its steady state before anything is measured.
    /// A copy starts with no WAL file; until the background checkpoint first lets the
    /// WAL wrap, every commit grows the file, and an fsync that must also commit the
    /// new size to the file system journal is much slower. Measuring that would
    /// penalize whichever history is copied more often (the 10k one, every 1,000
    /// contacts).
    fn warm_up(&mut self) {
        let batch: Vec<NewContact> = (0..WARM_UP).map(|_| self.traffic.next()).collect();
        for c in &batch {
            self.store.add_contact(c).expect("add_contact (warm-up)");
        }
        self.added += WARM_UP;
        close_all_but(&self.store, OPEN_AFTER, WARM_UP as i64 + OPEN_AFTER);
    }

    fn open_copy(dir: &Path, history: u64, copy: u32) -> Store {
        let path = dir.join(format!("history-{history}-{copy}.db"));
        history_copy(&path, history);
        // Default options: synchronous=FULL, like every front end.
        Store::open(
            &path,
            OpenOptions {
                actor: Some("bench".into()),
                ..OpenOptions::default()
            },
        )
        .expect("open history copy")
    }

    /// Untimed: replaces the file by a fresh copy of the cached history.
    fn reset(&mut self) {
        let fresh = Self::open_copy(self.dir.path(), self.history, self.copies);
        self.copies += 1;
        let old = std::mem::replace(&mut self.store, fresh);
        let old_path = old.path().to_path_buf();
        drop(old);
        remove_db(&old_path);
        self.traffic = Traffic::after(self.history);
        self.added = 0;
        self.warm_up();
    }

    /// Contacts a copy may take before it is replaced by a fresh one, so that "10k of
    /// history" stays within 10% of 10k however many iterations criterion asks for.
    fn budget(&self) -> u64 {
        (self.history / 10).max(1)
    }

    fn run(&mut self, iters: u64) -> Duration {
        let mut elapsed = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            if self.added >= self.budget() {
                self.reset();
            }
            let n = left.min(self.budget() - self.added);
            let batch: Vec<NewContact> = (0..n).map(|_| self.traffic.next()).collect();
            let cpu = thread_cpu();
            let started = Instant::now();
            for c in &batch {
                black_box(self.store.add_contact(c).expect("add_contact"));
            }
            elapsed += started.elapsed();
            add_cpu(&mut self.cpu, cpu);
            self.added += n;
            left -= n;
            // Steady state, outside the clock: operators close what they took.
            assert_eq!(
                waiting(&self.store),
                0,
                "contacts waited instead of routing"
            );
            close_all_but(&self.store, OPEN_AFTER, n as i64 + OPEN_AFTER);
        }
        elapsed
    }
}

/// One `BEGIN IMMEDIATE; INSERT one row; COMMIT` per iteration, same pragmas.
struct Plain {
    store: Store,
    cpu: Duration,
    next: i64,
    _dir: TempDir,
}

impl Plain {
    fn open() -> Plain {
        let dir = scratch();
        let store = Store::open(
            dir.path().join("plain.db"),
            OpenOptions {
                actor: Some("bench".into()),
                ..OpenOptions::default()
            },
        )
        .expect("open plain file");
        store
            .connection()
            .execute_batch(
                "CREATE TABLE t (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL,
                                 message TEXT NOT NULL, created_at INTEGER NOT NULL)",
            )
            .expect("create table");
        Plain {
            store,
            cpu: Duration::ZERO,
            next: 0,
            _dir: dir,
        }
    }

    fn run(&mut self, iters: u64) -> Duration {
        let rows: Vec<(i64, String)> = (0..iters as i64)
            .map(|i| {
                let n = self.next + i;
                (
                    n % 4 + 1,
                    format!("Order {n}: please call me back about the delivery"),
                )
            })
            .collect();
        self.next += iters as i64;
        let conn = self.store.connection();
        let cpu = thread_cpu();
        let started = Instant::now();
        for (source_id, message) in &rows {
            // The same statements rusqlite's IMMEDIATE transaction runs for the store.
            conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
            conn.prepare_cached(
                "INSERT INTO t (source_id, message, created_at) VALUES (?1, ?2, ?3)",
            )
            .expect("prepare insert")
            .execute(params![source_id, message, now_ms()])
            .expect("insert");
            conn.execute_batch("COMMIT").expect("commit");
        }
        let elapsed = started.elapsed();
        add_cpu(&mut self.cpu, cpu);
        elapsed
    }
}

/// What the paired comparison needs from a measured loop.
trait Workload {
    fn run(&mut self, iters: u64) -> Duration;
    fn store(&self) -> &Store;
    /// CPU time spent inside the timed sections so far.
    fn cpu(&self) -> Duration;
    /// Makes sure the next `iters` run on one file (no reset midway).
    fn make_room(&mut self, _iters: u64) {}
}

impl Workload for Routing {
    fn run(&mut self, iters: u64) -> Duration {
        Routing::run(self, iters)
    }
    fn make_room(&mut self, iters: u64) {
        if self.added + iters > self.budget() {
            self.reset();
        }
    }
    fn store(&self) -> &Store {
        &self.store
    }
    fn cpu(&self) -> Duration {
        self.cpu
    }
}

impl Workload for Plain {
    fn run(&mut self, iters: u64) -> Duration {
        Plain::run(self, iters)
    }
    fn store(&self) -> &Store {
        &self.store
    }
    fn cpu(&self) -> Duration {
        self.cpu
    }
}

// ---------------------------------------------------------------------------------
// Criterion, then an interleaved comparison.

const GROUP: &str = "routing";
const PLAIN: &str = "plain_insert_tx";
const ROUTE_10K: &str = "add_contact_10k_history";
const ROUTE_1M: &str = "add_contact_1m_history";

#[derive(Default)]
struct Fixtures {
    plain: Option<Plain>,
    small: Option<Routing>,
    large: Option<Routing>,
}

fn criterion_benches(c: &mut Criterion, f: &mut Fixtures) {
    let mut group = c.benchmark_group(GROUP);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(1));
    group.bench_function(PLAIN, |b| {
        let p = f.plain.get_or_insert_with(Plain::open);
        b.iter_custom(|iters| p.run(iters));
    });
    group.bench_function(ROUTE_10K, |b| {
        let r = f.small.get_or_insert_with(|| Routing::open(10_000));
        b.iter_custom(|iters| r.run(iters));
    });
    group.bench_function(ROUTE_1M, |b| {
        let r = f.large.get_or_insert_with(|| Routing::open(1_000_000));
        b.iter_custom(|iters| r.run(iters));
    });
    group.finish();
}

/// Pages one transaction appends to the WAL, on average over `iters` transactions
/// (untimed: checkpoints are held off meanwhile, then the WAL is truncated).
fn wal_pages_per_tx(w: &mut dyn Workload, iters: u64) -> f64 {
    let checkpoint = |store: &Store| {
        store
            .connection()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .expect("checkpoint");
    };
    w.make_room(iters);
    let conn = w.store().connection();
    let page: i64 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("page size");
    let wal = format!("{}-wal", conn.path().expect("file path"));
    checkpoint(w.store());
    conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
        .expect("hold checkpoints");
    w.run(iters);
    let bytes = fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let conn = w.store().connection();
    conn.execute_batch("PRAGMA wal_autocheckpoint = 1000")
        .expect("restore checkpoints");
    checkpoint(w.store());
    // A WAL is a 32-byte header, then frames of a 24-byte header and one page.
    bytes.saturating_sub(32) as f64 / (page + 24) as f64 / iters as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Criterion's mean time per transaction of this run, as transactions per second.
fn criterion_rate(bench: &str) -> Option<f64> {
    let home = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("criterion"));
    let text = fs::read_to_string(home.join(GROUP).join(bench).join("new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(1e9 / v["mean"]["point_estimate"].as_f64()?)
}

const ROUNDS: usize = 30;
const PER_ROUND: u64 = 300;

/// Runs the workloads in turn, rotating the order each round, so that a disk or CPU
/// shared with other work slows them alike; compares per-round rates.
fn paired(f: &mut Fixtures) {
    let mut runs: Vec<(&str, &mut dyn Workload)> = Vec::new();
    if let Some(p) = f.plain.as_mut() {
        runs.push((PLAIN, p));
    }
    if let Some(r) = f.small.as_mut() {
        runs.push((ROUTE_10K, r));
    }
    if let Some(r) = f.large.as_mut() {
        runs.push((ROUTE_1M, r));
    }
    if runs.is_empty() {
        return;
    }
    let pages: Vec<f64> = runs
        .iter_mut()
        .map(|(_, w)| wal_pages_per_tx(*w, PER_ROUND))
        .collect();
    let mut rates = vec![Vec::new(); runs.len()];
    let mut cpu = vec![Duration::ZERO; runs.len()];
    for round in 0..=ROUNDS {
        for k in 0..runs.len() {
            let i = (round + k) % runs.len();
            let before = runs[i].1.cpu();
            let t = runs[i].1.run(PER_ROUND);
            // Round 0 warms the caches up and is not counted.
            if round > 0 {
                rates[i].push(PER_ROUND as f64 / t.as_secs_f64());
                cpu[i] += runs[i].1.cpu() - before;
            }
        }
    }
    println!(
        "\nrouting summary: one contact per transaction, synchronous=FULL\n\
         {:<24} {:>14} {:>17} {:>12} {:>13}",
        "", "criterion mean", "interleaved median", "CPU per tx", "WAL pages/tx"
    );
    for (i, (name, _)) in runs.iter().enumerate() {
        let crit = criterion_rate(name)
            .map(|r| format!("{r:.0} tx/s"))
            .unwrap_or_else(|| "-".into());
        let per_tx = cpu[i].as_secs_f64() * 1e6 / (ROUNDS as f64 * PER_ROUND as f64);
        println!(
            "{name:<24} {crit:>14} {:>12.0} tx/s {:>9.0} µs {:>13.2}",
            median(rates[i].clone()),
            per_tx,
            pages[i]
        );
    }
    // Per-round ratios: median and interquartile range. A wide range means the disk or
    // CPU was shared with something else; run again.
    let ratio = |a: &str, b: &str| -> Option<(f64, f64, f64)> {
        let ia = runs.iter().position(|(n, _)| *n == a)?;
        let ib = runs.iter().position(|(n, _)| *n == b)?;
        let mut r: Vec<f64> = rates[ia]
            .iter()
            .zip(&rates[ib])
            .map(|(x, y)| x / y)
            .collect();
        r.sort_by(f64::total_cmp);
        let q = |p: f64| r[((r.len() - 1) as f64 * p).round() as usize];
        Some((median(r.clone()), q(0.25), q(0.75)))
    };
    for (a, b, label, goal) in [
        (
            ROUTE_10K,
            PLAIN,
            "routing / plain  ",
            "goal >= 0.33, aim 0.50",
        ),
        (ROUTE_1M, ROUTE_10K, "1M / 10k history ", "goal >= 0.90"),
    ] {
        if let Some((m, lo, hi)) = ratio(a, b) {
            println!("{label} {m:.2}  (median of per-round ratios, IQR {lo:.2}-{hi:.2}; {goal})");
        }
    }
}

/// Criterion's mode, as its command line says (`cargo test --benches` omits --bench).
fn benchmarking() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list") && !has("--profile-time")
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    let mut fixtures = Fixtures::default();
    criterion_benches(&mut criterion, &mut fixtures);
    criterion.final_summary();
    if benchmarking() {
        paired(&mut fixtures);
    }
}
