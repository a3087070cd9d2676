//! `ingest` throughput: 100,000 JSON lines through `switchboard::intake::run`
//! (the CLI's default batches, one transaction each, synchronous=FULL), and the same file
//! through the real binary, `switchboard ingest FILE > /dev/null`.
//!
//! A third benchmark is the floor under both: SQLite alone writing the same rows
//! (every lead and contact the ingest stored, with the same schema, indexes, pragmas
//! and batches), with no parsing, lookups, routing or output. Its rate is the most
//! any intake on this data model can reach on the machine at hand.
//!
//! `cargo bench --bench ingest`. Every iteration starts from a fresh file holding only
//! the roster; setting it up is not timed.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput};
use switchboard::intake as ingest;
use switchboard::store::{OpenOptions, Store};

mod common;

/// The allocator the `switchboard` binary uses (src/main.rs), so the library
/// measurement matches what the binary does.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use common::{INPUT_SEED, jsonl, remove_db, scratch, set_up_roster};

const LINES: u64 = 100_000;
/// The CLI's default batch size.
const BATCH: usize = ingest::DEFAULT_BATCH as usize;

// ---------------------------------------------------------------------------------

fn options() -> OpenOptions {
    // Default durability (synchronous=FULL), as the binary uses without
    // SWITCHBOARD_SYNCHRONOUS.
    OpenOptions {
        actor: Some("bench".into()),
        ..OpenOptions::default()
    }
}

/// A new file at `path` holding the roster and nothing else.
fn fresh_store(path: &Path) -> Store {
    remove_db(path);
    let mut store = Store::open(path, options()).expect("open fresh file");
    set_up_roster(&mut store);
    store
}

/// CPU time of this process, all threads, from `/proc/self/stat` (Linux; `None`
/// elsewhere). Ticks are taken as the usual 100 per second.
fn process_cpu() -> Option<Duration> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit(')').next()?.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// What the library benchmark measured besides criterion's wall time.
#[derive(Default)]
struct Ran {
    library: bool,
    binary: bool,
    floor: bool,
    /// Process CPU time inside the timed `ingest::run` calls, and how many runs.
    library_cpu: Duration,
    library_runs: u64,
}

/// Runs the two benchmarks; returns what ran (a filter may skip one).
fn benches(c: &mut Criterion, input: &Arc<[u8]>, dir: &Path) -> Ran {
    let mut ran = Ran::default();
    let mut group = c.benchmark_group("ingest");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(LINES));
    let db = dir.join("library.db");
    group.bench_function("library_100k_lines", |b| {
        ran.library = true;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut store = fresh_store(&db);
                let reader = Cursor::new(Arc::clone(input));
                let cpu = process_cpu();
                let started = Instant::now();
                let report =
                    ingest::run(&mut store, reader, &mut std::io::sink(), BATCH).expect("ingest");
                total += started.elapsed();
                if let (Some(a), Some(b)) = (cpu, process_cpu()) {
                    ran.library_cpu += b.saturating_sub(a);
                    ran.library_runs += 1;
                }
                assert_eq!(
                    (report.accepted, report.rejected),
                    (LINES, 0),
                    "every line should be taken in"
                );
            }
            total
        });
    });

    let file = dir.join("input.jsonl");
    fs::write(&file, &input[..]).expect("write input file");
    // On disk before anything is timed: 15 MB of dirty pages written back during the
    // measurement would slow every fsync of the runs.
    fs::File::open(&file)
        .and_then(|f| f.sync_all())
        .expect("sync input file");
    let db = dir.join("binary.db");
    group.bench_function("binary_100k_lines", |b| {
        ran.binary = true;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                drop(fresh_store(&db));
                total += run_binary(&db, &file);
            }
            total
        });
    });

    let db = dir.join("floor.db");
    let mut rows = None;
    group.bench_function("sqlite_floor_100k_rows", |b| {
        ran.floor = true;
        let rows = rows.get_or_insert_with(|| stored_rows(input, &dir.join("reference.db")));
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let store = fresh_store(&db);
                let started = Instant::now();
                write_rows(&store, rows);
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
    ran
}

/// The rows one ingest of `input` stores, in the order it stored them: each contact,
/// preceded by its lead when the lead is new. Read back from a reference run.
struct StoredRows {
    leads: Vec<LeadRow>,
    contacts: Vec<ContactRow>,
}

/// (id, external_id, phone, email, name, created_at)
type LeadRow = (
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

/// (id, lead_id, source_id, operator_id, status, message, idempotency_key,
/// created_at, assigned_at, assigned_by)
type ContactRow = (
    i64,
    i64,
    i64,
    Option<i64>,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<String>,
);

fn stored_rows(input: &Arc<[u8]>, path: &Path) -> StoredRows {
    let mut store = fresh_store(path);
    let report = ingest::run(
        &mut store,
        Cursor::new(Arc::clone(input)),
        &mut std::io::sink(),
        BATCH,
    )
    .expect("reference ingest");
    assert_eq!(report.rejected, 0, "the reference run takes every line");
    let leads = read_all(
        &store,
        "SELECT id, external_id, phone, email, name, created_at FROM lead ORDER BY id",
    );
    let contacts = read_all(
        &store,
        "SELECT id, lead_id, source_id, operator_id, status, message, idempotency_key,
                created_at, assigned_at, assigned_by FROM contact ORDER BY id",
    );
    drop(store);
    remove_db(path);
    StoredRows { leads, contacts }
}

/// Every row `sql` returns, as tuples.
fn read_all<T>(store: &Store, sql: &str) -> Vec<T>
where
    T: for<'r> TryFrom<&'r rusqlite::Row<'r>, Error = rusqlite::Error>,
{
    let mut stmt = store.connection().prepare(sql).expect("prepare a read");
    stmt.query_map([], |r| T::try_from(r))
        .and_then(|rows| rows.collect())
        .expect("read rows")
}

/// Writes `rows` as ingest did: transactions of `BATCH` contacts, each new lead just
/// before its first contact, and each operator's load and each source's counters
/// (schema V3) raised once per transaction.
fn write_rows(store: &Store, rows: &StoredRows) {
    let conn = store.connection();
    let mut next_lead = 0;
    for batch in rows.contacts.chunks(BATCH) {
        conn.execute_batch("BEGIN IMMEDIATE").expect("begin");
        let mut lead = conn
            .prepare_cached(
                "INSERT INTO lead (id, external_id, phone, email, name, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .expect("prepare lead insert");
        let mut contact = conn
            .prepare_cached(
                "INSERT INTO contact (id, lead_id, source_id, operator_id, status, message,
                    idempotency_key, created_at, assigned_at, assigned_by)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .expect("prepare contact insert");
        let mut assigned = std::collections::BTreeMap::<i64, i64>::new();
        // (contacts, waiting) per source; contacts per (source, operator).
        let mut received = std::collections::BTreeMap::<i64, (i64, i64)>::new();
        let mut routed = std::collections::BTreeMap::<(i64, i64), i64>::new();
        for c in batch {
            while let Some(l) = rows.leads.get(next_lead).filter(|l| l.0 <= c.1) {
                lead.execute(rusqlite::params![l.0, l.1, l.2, l.3, l.4, l.5])
                    .expect("insert lead");
                next_lead += 1;
            }
            contact
                .execute(rusqlite::params![
                    c.0, c.1, c.2, c.3, c.4, c.5, c.6, c.7, c.8, c.9
                ])
                .expect("insert contact");
            let counts = received.entry(c.2).or_default();
            counts.0 += 1;
            match c.3 {
                Some(op) => {
                    *assigned.entry(op).or_default() += 1;
                    *routed.entry((c.2, op)).or_default() += 1;
                }
                None => counts.1 += 1,
            }
        }
        let mut load = conn
            .prepare_cached("UPDATE operator SET load = load + ?2 WHERE id = ?1")
            .expect("prepare load update");
        for (op, n) in assigned {
            assert_eq!(load.execute([op, n]).expect("update load"), 1);
        }
        let mut source = conn
            .prepare_cached(
                "UPDATE source SET total = total + ?2, waiting = waiting + ?3 WHERE id = ?1",
            )
            .expect("prepare source counters");
        for (id, (n, waiting)) in received {
            assert_eq!(source.execute([id, n, waiting]).expect("count source"), 1);
        }
        let mut count_routed = conn
            .prepare_cached(
                "INSERT INTO routed (source_id, operator_id, contacts) VALUES (?1, ?2, ?3)
                 ON CONFLICT (source_id, operator_id) DO UPDATE SET contacts = contacts + excluded.contacts",
            )
            .expect("prepare routed counters");
        for ((id, op), n) in routed {
            count_routed.execute([id, op, n]).expect("count routed");
        }
        conn.execute_batch("COMMIT").expect("commit");
    }
    assert_eq!(next_lead, rows.leads.len(), "every lead written");
}

/// `switchboard --db DB ingest FILE > /dev/null`, timed from spawn to exit.
fn run_binary(db: &Path, file: &Path) -> Duration {
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--db")
        .arg(db)
        .arg("ingest")
        .arg(file)
        .env_remove("SWITCHBOARD_SYNCHRONOUS")
        .stdout(Stdio::null())
        .status()
        .expect("run switchboard");
    let elapsed = started.elapsed();
    assert!(status.success(), "switchboard ingest failed: {status}");
    elapsed
}

/// Criterion's mode, as its command line says (`cargo test --benches` omits --bench).
fn benchmarking() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    has("--bench") && !has("--test") && !has("--list") && !has("--profile-time")
}

fn criterion_rate(bench: &str) -> Option<f64> {
    let home = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .expect("target dir")
                .join("criterion")
        });
    let text =
        fs::read_to_string(home.join("ingest").join(bench).join("new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some(LINES as f64 * 1e9 / v["mean"]["point_estimate"].as_f64()?)
}

fn main() {
    let input: Arc<[u8]> = jsonl(LINES, INPUT_SEED).into();
    if let Some(dir) = std::env::var_os("INGEST_BENCH_DUMP") {
        // For measurements outside criterion (callgrind, perf): the input and a file
        // holding only the roster, then stop.
        let dir = PathBuf::from(dir);
        fs::create_dir_all(&dir).expect("create the dump directory");
        fs::write(dir.join("input.jsonl"), &input[..]).expect("write input.jsonl");
        drop(fresh_store(&dir.join("roster.db")));
        eprintln!("wrote input.jsonl and roster.db to {}", dir.display());
        return;
    }
    let dir = scratch("ingest-");
    let mut criterion = Criterion::default().configure_from_args();
    let ran = benches(&mut criterion, &input, dir.path());
    criterion.final_summary();
    if benchmarking() {
        println!(
            "\ningest summary: {LINES} lines, {} MB, batches of {BATCH}, synchronous=FULL",
            input.len() / 1_000_000
        );
        for (ran, bench, how) in [
            (
                ran.library,
                "library_100k_lines",
                "cli::ingest::run, output to io::sink()",
            ),
            (
                ran.binary,
                "binary_100k_lines",
                "switchboard ingest FILE > /dev/null",
            ),
        ] {
            if let Some(rate) = ran.then(|| criterion_rate(bench)).flatten() {
                println!("  {rate:>9.0} contacts/s  {how}  (goal >= 100000)");
            }
        }
        if let Some(rate) = ran
            .floor
            .then(|| criterion_rate("sqlite_floor_100k_rows"))
            .flatten()
        {
            println!(
                "  {rate:>9.0} contacts/s  floor: SQLite alone writing the same rows, same schema and batches"
            );
            if let Some(lib) = ran
                .library
                .then(|| criterion_rate("library_100k_lines"))
                .flatten()
            {
                println!("  {:>9.2}          cli::ingest::run / floor", lib / rate);
            }
        }
        if ran.library_runs > 0 && !ran.library_cpu.is_zero() {
            // Less disturbed than wall time when other processes compete for the CPUs.
            println!(
                "  {:>9.0} contacts per CPU-second (all threads) in cli::ingest::run",
                (ran.library_runs * LINES) as f64 / ran.library_cpu.as_secs_f64()
            );
        }
    }
}
