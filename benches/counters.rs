//! What the counters of schema V3 are for: `stats` and every refresh of the TUI cost
//! the same on a file of 1M contacts as on one of 10k.
//!
//! - `stats/*`: `Store::stats()` on the routing histories of 10k and 1M contacts,
//!   against the floor of reading the file at all (`SELECT count(*) FROM source` on the
//!   same connection). For reference, what the counters and the chart's window replace:
//!   the query `stats` ran before V3 (a GROUP BY over `contact`) on the 1M file, and
//!   the Sources chart's query before its window, on the backlog source.
//! - `refresh/*`: a TUI (`App` with `AppOptions::for_tests()`) on each tab, on files of
//!   10k contacts, 1M contacts, and 1M contacts of which 990k wait in a source nobody
//!   takes. Another connection commits one contact (untimed), then one
//!   `app.update(Action::Tick)` is timed: the tick sees `data_version` move and reads
//!   what the tab shows.
//!
//! After criterion, the same loops run again interleaved (round by round, order
//! rotating) and the summary reports the thread CPU time of one refresh (and of drawing
//! its frame) as medians, the ratio 1M / 10k, and the CPU share of a TUI refreshing 10
//! times a second (cost per refresh x 10; the TUI polls every 200 ms, so a real one
//! refreshes at most 5 times a second).
//!
//! `cargo bench --bench counters`. The histories are the ones benches/routing.rs caches
//! under `target/bench-data/` (built here if missing); the backlog file is built from
//! the 10k history once and cached beside them. Every run works on copies.

use std::fs;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use switchboard::domain::{EntityRef, Strategy};
use switchboard::store::{Durability, NewContact, OpenOptions, Store, now_ms};
use switchboard::tui::action::Action;
use switchboard::tui::{App, AppOptions, Tab, render};
use tempfile::TempDir;

mod common;
use common::history::{
    HISTORY_FORMAT, Traffic, bench_data_dir, history_copy, options, remove_db, schema_fingerprint,
    scratch,
};

/// Bump when the backlog file's content changes, so an old cache is not reused.
const BACKLOG_FORMAT: u32 = 1;
/// Contacts of the backlog file: the 10k history plus this many waiting ones.
const BACKLOG: u64 = 990_000;

/// Thread CPU time, precise to the nanosecond (`CLOCK_THREAD_CPUTIME_ID`).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

// ---------------------------------------------------------------------------------
// Files.

/// The file of one scenario, copied from its cache.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    History10k,
    History1m,
    /// 10k of history, then 990k contacts in a source no operator takes.
    Backlog1m,
}

impl Scenario {
    const ALL: [Scenario; 3] = [
        Scenario::History10k,
        Scenario::History1m,
        Scenario::Backlog1m,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::History10k => "10k",
            Scenario::History1m => "1m",
            Scenario::Backlog1m => "1m_backlog",
        }
    }

    /// Contacts of routing traffic the file starts with.
    fn history(self) -> u64 {
        match self {
            Scenario::History1m => 1_000_000,
            _ => 10_000,
        }
    }

    fn copy_to(self, path: &Path) {
        match self {
            Scenario::Backlog1m => {
                fs::copy(backlog_file(), path).expect("copy the backlog file");
                fs::File::open(path)
                    .and_then(|f| f.sync_all())
                    .expect("sync the copy");
            }
            _ => history_copy(path, self.history()),
        }
    }
}

/// The cached backlog file, built from the 10k history if missing: 990k contacts in
/// a source `backlog` without weights, one every 2 s of fake time ending now.
fn backlog_file() -> PathBuf {
    let cached = bench_data_dir().join(format!(
        "counters-backlog-{BACKLOG}-schema{}-{:016x}-format{BACKLOG_FORMAT}-history{HISTORY_FORMAT}.db",
        switchboard::store::latest_version(),
        schema_fingerprint()
    ));
    if cached.exists() {
        return cached;
    }
    let started = Instant::now();
    let building = cached.with_extension(format!("building-{}", std::process::id()));
    remove_db(&building);
    history_copy(&building, 10_000);
    let mut store = Store::open(&building, options(Durability::Normal)).expect("open history");
    store
        .add_source("backlog", "nobody takes these", Strategy::Weighted)
        .expect("backlog source");
    const BATCH: u64 = 10_000;
    let first_ms = now_ms() - BACKLOG as i64 * 2_000;
    let mut done = 0;
    while done < BACKLOG {
        let batch: Vec<NewContact> = (done..done + BATCH)
            .map(|i| NewContact {
                source: Some(EntityRef::from("backlog")),
                external_id: Some(format!("backlog-{i}")),
                message: Some("Is anybody there?".into()),
                ..NewContact::default()
            })
            .collect();
        store.set_clock(Some(first_ms + done as i64 * 2_000));
        for r in store.add_contacts(&batch).expect("backlog batch") {
            r.expect("backlog contact");
        }
        done += BATCH;
    }
    store
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    drop(store);
    fs::rename(&building, &cached).expect("cache the backlog file");
    eprintln!(
        "built the backlog file ({BACKLOG} waiting contacts) in {:.1?}",
        started.elapsed()
    );
    cached
}

/// A copy of one scenario's file, with a TUI on it and a second connection that
/// commits new contacts.
struct Fixture {
    scenario: Scenario,
    /// Contacts committed since the copy was made, and how many it may take before it
    /// is replaced by a fresh copy (a tenth of the file: "10k" stays about 10k).
    added: u64,
    budget: u64,
    app: App,
    writer: Store,
    traffic: Traffic,
    terminal: Terminal<TestBackend>,
    _dir: TempDir,
}

impl Fixture {
    fn open(scenario: Scenario) -> Fixture {
        let dir = scratch("counters-");
        let path = dir.path().join(format!("{}.db", scenario.name()));
        scenario.copy_to(&path);
        let writer = Store::open(&path, options(Durability::Normal)).expect("open writer");
        let store = Store::open(&path, OpenOptions::default()).expect("open TUI store");
        let app = App::new(store, AppOptions::for_tests().expect("keymap")).expect("app");
        let waiting = if scenario == Scenario::Backlog1m {
            BACKLOG
        } else {
            0
        };
        let contacts: i64 = writer
            .connection()
            .query_row("SELECT count(*) FROM contact", [], |r| r.get(0))
            .expect("count");
        let traffic = Traffic::after(contacts as u64 - waiting);
        Fixture {
            scenario,
            added: 0,
            budget: contacts as u64 / 10,
            app,
            writer,
            traffic,
            terminal: Terminal::new(TestBackend::new(80, 24)).expect("terminal"),
            _dir: dir,
        }
    }

    fn tab(&mut self, tab: Tab) {
        if self.app.tab() != tab {
            self.app.switch_tab(tab).expect("switch tab");
        }
    }

    /// Another connection commits one contact (untimed).
    fn commit(&mut self) {
        if self.added >= self.budget {
            let tab = self.app.tab();
            *self = Fixture::open(self.scenario);
            self.tab(tab);
        }
        let c = self.traffic.next();
        self.writer.add_contact(&c).expect("add contact");
        self.added += 1;
        self.app.take_dirty();
    }

    /// One tick after a commit: it must have read the file again.
    fn tick(&mut self) {
        self.app.update(Action::Tick);
        assert!(self.app.take_dirty(), "the tick did not refresh");
    }

    fn draw(&mut self) {
        let app = &self.app;
        self.terminal.draw(|f| render(app, f)).expect("draw");
    }
}

const TABS: [(Tab, &str); 4] = [
    (Tab::Operators, "operators"),
    (Tab::Sources, "sources"),
    (Tab::Weights, "weights"),
    (Tab::Feed, "feed"),
];

/// The query `stats` ran before schema V3: every contact, grouped.
const STATS_BEFORE_V3: &str =
    "SELECT c.source_id, c.operator_id, o.name, c.assigned_at IS NOT NULL, count(*)
     FROM contact c LEFT JOIN operator o ON o.id = c.operator_id
     GROUP BY c.source_id, c.operator_id, c.assigned_at IS NOT NULL";

/// The Sources chart's query before it looked at a bounded window: newest first
/// through the source's contacts until 200 with an operator turn up.
const CHART_BEFORE_WINDOW: &str = "SELECT ?1, t.operator_id, o.name, count(*) FROM
       (SELECT operator_id FROM contact WHERE source_id = ?1 AND operator_id IS NOT NULL
        ORDER BY id DESC LIMIT 200) t
     LEFT JOIN operator o ON o.id = t.operator_id
     GROUP BY t.operator_id";

fn chart_before_window(store: &Store, source_id: i64) -> usize {
    let mut stmt = store
        .connection()
        .prepare_cached(CHART_BEFORE_WINDOW)
        .expect("prepare");
    stmt.query_map([source_id], |r| r.get::<_, i64>(3))
        .expect("query")
        .count()
}

fn floor(store: &Store) -> i64 {
    store
        .connection()
        .query_row("SELECT count(*) FROM source", [], |r| r.get(0))
        .expect("floor")
}

fn stats_before_v3(store: &Store) -> usize {
    let mut stmt = store
        .connection()
        .prepare_cached(STATS_BEFORE_V3)
        .expect("prepare");
    stmt.query_map([], |r| r.get::<_, i64>(4))
        .expect("query")
        .count()
}

// ---------------------------------------------------------------------------------
// Criterion, then the interleaved summary.

fn criterion_benches(c: &mut Criterion, fixtures: &mut [Fixture]) {
    let mut group = c.benchmark_group("stats");
    group
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for f in fixtures.iter_mut() {
        let store = f.app.store();
        group.bench_function(format!("stats_{}", f.scenario.name()), |b| {
            b.iter(|| black_box(store.stats().expect("stats")))
        });
        group.bench_function(format!("floor_{}", f.scenario.name()), |b| {
            b.iter(|| black_box(floor(store)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("stats_before_v3");
    group.sample_size(10);
    if let Some(f) = fixtures
        .iter_mut()
        .find(|f| f.scenario == Scenario::History1m)
    {
        let store = f.app.store();
        group.bench_function("group_by_contact_1m", |b| {
            b.iter(|| black_box(stats_before_v3(store)))
        });
    }
    if let Some(f) = fixtures
        .iter_mut()
        .find(|f| f.scenario == Scenario::Backlog1m)
    {
        let store = f.app.store();
        let backlog: i64 = store
            .connection()
            .query_row("SELECT id FROM source WHERE name = 'backlog'", [], |r| {
                r.get(0)
            })
            .expect("backlog source");
        group.bench_function("sources_chart_unbounded_1m_backlog", |b| {
            b.iter(|| black_box(chart_before_window(store, backlog)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("refresh");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for f in fixtures.iter_mut() {
        for (tab, name) in TABS {
            f.tab(tab);
            group.bench_function(format!("{name}_{}", f.scenario.name()), |b| {
                b.iter_custom(|iters| {
                    let mut elapsed = Duration::ZERO;
                    for _ in 0..iters {
                        f.commit();
                        let started = Instant::now();
                        f.tick();
                        elapsed += started.elapsed();
                    }
                    elapsed
                })
            });
        }
    }
    group.finish();
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

const ROUNDS: usize = 15;
const PER_ROUND: usize = 20;

/// Per-call thread CPU time in µs, one sample per call.
#[derive(Default)]
struct Samples {
    tick: Vec<f64>,
    draw: Vec<f64>,
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn summary(fixtures: &mut [Fixture]) {
    let n = fixtures.len();
    let mut refresh: Vec<Vec<Samples>> = (0..n)
        .map(|_| TABS.iter().map(|_| Samples::default()).collect())
        .collect();
    let mut stats = vec![Vec::new(); n];
    let mut floors = vec![Vec::new(); n];
    for round in 0..=ROUNDS {
        for k in 0..n {
            let i = (round + k) % n;
            let f = &mut fixtures[i];
            for (t, (tab, _)) in TABS.iter().enumerate() {
                f.tab(*tab);
                for _ in 0..PER_ROUND {
                    f.commit();
                    let a = thread_cpu();
                    f.tick();
                    let b = thread_cpu();
                    f.draw();
                    let c = thread_cpu();
                    // Round 0 warms the caches up and is not counted.
                    if round > 0 {
                        refresh[i][t].tick.push(micros(b - a));
                        refresh[i][t].draw.push(micros(c - b));
                    }
                }
            }
            let store = f.app.store();
            for _ in 0..PER_ROUND {
                let a = thread_cpu();
                black_box(store.stats().expect("stats"));
                let b = thread_cpu();
                black_box(floor(store));
                let c = thread_cpu();
                if round > 0 {
                    stats[i].push(micros(b - a));
                    floors[i].push(micros(c - b));
                }
            }
        }
    }
    let at = |s: Scenario| fixtures.iter().position(|f| f.scenario == s);
    println!(
        "\ncounters summary: thread CPU per call, medians of {ROUNDS} interleaved rounds x {PER_ROUND}\n\
         (a refresh: another connection committed one contact, then one App tick on the tab)\n"
    );
    println!(
        "{:<11} {:>10} {:>10} {:>8} {:>12} {:>12} {:>12}",
        "tab", "10k µs", "1M µs", "1M/10k", "draw µs", "1M: CPU", "backlog µs"
    );
    println!(
        "{:<11} {:>10} {:>10} {:>8} {:>12} {:>12} {:>12}",
        "", "refresh", "refresh", "", "(1M)", "at 10/s", "refresh"
    );
    for (t, (_, name)) in TABS.iter().enumerate() {
        let tick = |s: Scenario| at(s).map(|i| median(refresh[i][t].tick.clone()));
        let draw = |s: Scenario| at(s).map(|i| median(refresh[i][t].draw.clone()));
        let (small, large, backlog) = (
            tick(Scenario::History10k).unwrap_or(f64::NAN),
            tick(Scenario::History1m).unwrap_or(f64::NAN),
            tick(Scenario::Backlog1m).unwrap_or(f64::NAN),
        );
        let drawn = draw(Scenario::History1m).unwrap_or(f64::NAN);
        let worst = large.max(backlog) + drawn;
        println!(
            "{name:<11} {small:>10.0} {large:>10.0} {:>8.2} {drawn:>12.0} {:>11.2}% {backlog:>12.0}",
            large / small,
            worst * 10.0 / 1e6 * 100.0,
        );
    }
    println!(
        "(CPU at 10/s: (refresh + draw) x 10 per second, of the worse of the two 1M files; goal < 2%)\n"
    );
    for s in Scenario::ALL {
        if let Some(i) = at(s) {
            let (st, fl) = (median(stats[i].clone()), median(floors[i].clone()));
            println!(
                "stats on {:<11} {st:>8.0} µs   floor (SELECT count(*) FROM source) {fl:>5.1} µs   stats / floor {:>6.1}",
                s.name(),
                st / fl
            );
        }
    }
    if let (Some(a), Some(b)) = (at(Scenario::History10k), at(Scenario::History1m)) {
        println!(
            "stats 1M / 10k {:.2}  (goal: stats at 1M under 10 ms)",
            median(stats[b].clone()) / median(stats[a].clone())
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
    let mut fixtures: Vec<Fixture> = Scenario::ALL.into_iter().map(Fixture::open).collect();
    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion, &mut fixtures);
    criterion.final_summary();
    if benchmarking() {
        summary(&mut fixtures);
    }
}
