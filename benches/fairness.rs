//! Writers yield to people: how long a supervisor's write waits while eight `ingest`
//! processes (the real binary) write to the same file, and what bounding intake's
//! batches in time costs intake.
//!
//! `cargo bench --bench fairness`. Measured, in one run:
//! - `fairness/person_write_idle` (criterion): one `operator set`-like write
//!   (`Store::update_operator`, max_load +1/-1) on a file nobody else writes: the floor;
//! - a person's write every 20 ms while 8 `switchboard ingest` processes run with the
//!   default batches (20,000 lines, or 50 ms once another writer waits), then the same
//!   with `--batch-ms 0` (count only; a waiting person still cuts a batch short): p50,
//!   p90, p99 and the worst wait, and the eight processes' contacts per second;
//! - one `ingest` of 100,000 lines alone, default against `--batch-ms 0`, three rounds
//!   interleaved (and `--batch-ms 100` and `250` beside them): the throughput ratio.
//!
//! Goal: p99 of the person's write <= 250 ms under 8 ingests; intake's throughput
//! within 10% of the count-only batches.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use switchboard::domain::EntityRef;
use switchboard::store::{OpenOptions, OperatorPatch, Store};

mod common;
use common::{jsonl, remove_db, scratch, set_up_roster};

const INGESTS: usize = 8;
/// Lines per ingest process under load.
const LINES_EACH: u64 = 40_000;
/// Lines of the single-ingest throughput comparison.
const LINES_ALONE: u64 = 100_000;
/// A person's write every this often while the ingests run.
const EVERY: Duration = Duration::from_millis(20);

fn options() -> OpenOptions {
    OpenOptions {
        actor: Some("supervisor".into()),
        ..OpenOptions::default()
    }
}

fn fresh(path: &Path) -> Store {
    remove_db(path);
    let mut store = Store::open(path, options()).expect("open");
    set_up_roster(&mut store);
    store
}

/// One person's write: the max load of `grace` up or down by one.
fn person_write(store: &mut Store, up: bool) {
    let now = store
        .operator(&EntityRef::parse("grace"))
        .expect("grace")
        .max_load;
    store
        .update_operator(
            &EntityRef::parse("grace"),
            &OperatorPatch {
                max_load: Some(if up { now + 1 } else { now - 1 }),
                ..Default::default()
            },
        )
        .expect("person's write");
}

fn ingest(db: &Path, input: &Path, batch_ms: Option<u32>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.arg("--db").arg(db).arg("ingest").arg(input);
    if let Some(ms) = batch_ms {
        cmd.arg("--batch-ms").arg(ms.to_string());
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .env_remove("SWITCHBOARD_SYNCHRONOUS")
        .spawn()
        .expect("start ingest")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct UnderLoad {
    waits: Vec<Duration>,
    contacts_per_s: f64,
}

/// Eight ingests on one file, a person's write every [`EVERY`] until they end.
fn under_load(dir: &Path, inputs: &[PathBuf], batch_ms: Option<u32>) -> UnderLoad {
    let db = dir.join("shared.db");
    let mut person = fresh(&db);
    let started = Instant::now();
    let mut children: Vec<Child> = inputs
        .iter()
        .map(|input| ingest(&db, input, batch_ms))
        .collect();
    let mut waits = Vec::new();
    let mut up = true;
    loop {
        let mut running = 0;
        for c in &mut children {
            if c.try_wait().expect("poll ingest").is_none() {
                running += 1;
            }
        }
        if running == 0 {
            break;
        }
        let t = Instant::now();
        person_write(&mut person, up);
        waits.push(t.elapsed());
        up = !up;
        std::thread::sleep(EVERY);
    }
    let elapsed = started.elapsed();
    for c in &mut children {
        assert!(c.wait().expect("ingest").success(), "ingest failed");
    }
    waits.sort();
    UnderLoad {
        waits,
        contacts_per_s: (INGESTS as u64 * LINES_EACH) as f64 / elapsed.as_secs_f64(),
    }
}

fn alone(dir: &Path, input: &Path, batch_ms: Option<u32>) -> f64 {
    let db = dir.join("alone.db");
    drop(fresh(&db));
    let started = Instant::now();
    let status = ingest(&db, input, batch_ms).wait().expect("ingest");
    assert!(status.success());
    LINES_ALONE as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let dir = scratch("fairness-");
    let mut c = Criterion::default().configure_from_args();
    {
        let db = dir.path().join("idle.db");
        let mut store = fresh(&db);
        let mut up = true;
        let mut group = c.benchmark_group("fairness");
        group.sample_size(30);
        group.bench_function("person_write_idle", |b| {
            b.iter(|| {
                person_write(&mut store, up);
                up = !up;
            })
        });
        group.finish();
    }
    c.final_summary();
    if filter.is_some_and(|f| !"fairness/under_load".contains(&f)) {
        return;
    }
    // Idle floor again, plainly, for the summary's ratio.
    let mut idle = Vec::new();
    {
        let mut store = fresh(&dir.path().join("idle.db"));
        for i in 0..200 {
            let t = Instant::now();
            person_write(&mut store, i % 2 == 0);
            idle.push(t.elapsed());
        }
        idle.sort();
    }
    let inputs: Vec<PathBuf> = (0..INGESTS)
        .map(|i| {
            let p = dir.path().join(format!("input-{i}.jsonl"));
            fs::write(&p, jsonl(LINES_EACH, 0xFA1 + i as u64)).expect("write input");
            p
        })
        .collect();
    let bounded = under_load(dir.path(), &inputs, None);
    let count_only = under_load(dir.path(), &inputs, Some(0));
    let input = dir.path().join("alone.jsonl");
    fs::write(&input, jsonl(LINES_ALONE, 0x1D6E57)).expect("write input");
    // One ingest alone: the default, two longer time bounds, and count only, three
    // rounds interleaved so the machine's drift hits all alike.
    let bounds: [Option<u32>; 4] = [None, Some(100), Some(250), Some(0)];
    let mut rates = vec![Vec::new(); bounds.len()];
    for _ in 0..3 {
        for (i, b) in bounds.iter().enumerate() {
            rates[i].push(alone(dir.path(), &input, *b));
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("\nfairness summary");
    println!(
        "  person's write, idle file (floor): p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&idle, 0.5)),
        ms(percentile(&idle, 0.99))
    );
    for (name, r) in [
        ("default batches (50 ms)", &bounded),
        ("--batch-ms 0 (count only)", &count_only),
    ] {
        println!(
            "  under {INGESTS} ingests, {name}: {} writes, p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, worst {:.1} ms (goal p99 <= 250); intake {:.0} contacts/s",
            r.waits.len(),
            ms(percentile(&r.waits, 0.5)),
            ms(percentile(&r.waits, 0.9)),
            ms(percentile(&r.waits, 0.99)),
            ms(r.waits.last().copied().unwrap_or_default()),
            r.contacts_per_s
        );
    }
    println!(
        "  8 ingests' throughput, default / count only: {:.3}",
        bounded.contacts_per_s / count_only.contacts_per_s
    );
    let count_only_rates = &rates[bounds.len() - 1];
    for (i, b) in bounds.iter().enumerate() {
        let name = match b {
            None => "default (50 ms)".to_string(),
            Some(0) => "count only".to_string(),
            Some(ms) => format!("--batch-ms {ms}"),
        };
        let mut ratios: Vec<f64> = rates[i]
            .iter()
            .zip(count_only_rates)
            .map(|(r, c)| r / c)
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "  one ingest of {LINES_ALONE}, {name}: {} contacts/s; / count only, median of 3 rounds: {:.3}",
            rates[i]
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", "),
            ratios[1]
        );
    }
}
