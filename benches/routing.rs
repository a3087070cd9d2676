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
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use rusqlite::params;
mod common;
use common::history::{
    OPEN_AFTER, Traffic, close_all_but, history_copy, remove_db, scratch, target_dir,
};
use switchboard::store::{NewContact, OpenOptions, Store, now_ms};
use tempfile::TempDir;

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

/// Contacts a fresh copy takes, untimed, before it is measured (see `Routing::warm_up`).
const WARM_UP: u64 = 200;

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
        let dir = scratch("routing-");
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
        let dir = scratch("routing-");
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
