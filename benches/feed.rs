//! The TUI's feed on a file with 1,000,000 contacts: refreshing and rendering one
//! 120x40 frame (at the top, scrolled to the oldest page, waiting-only, searched),
//! a page down, and start to first frame in-process; then the real binary in a
//! pseudo-terminal: start to first frame, resident memory, and CPU while idle.
//!
//! `cargo bench --bench feed`. The file is built once through the store's own intake
//! and cached under `target/bench-data/`; later runs reuse it.

use std::fs;
use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::Criterion;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyEvent, KeyEventKind};
use switchboard::domain::{EntityRef, Strategy};
use switchboard::store::{Durability, NewContact, OpenOptions, Store, latest_version, now_ms};
use switchboard::tui::{App, AppOptions, Key, Tab, render};

const CONTACTS: u64 = 1_000_000;
/// Bump when the file's content changes, so an old cache is not reused.
const FORMAT: u32 = 1;
const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

const SOURCES: [(&str, Strategy); 4] = [
    ("telegram-bot", Strategy::Weighted),
    ("web-form", Strategy::Capacity),
    ("whatsapp", Strategy::Weighted),
    ("vk-group", Strategy::Weighted),
];
const FIRST: [&str; 12] = [
    "Anna", "Boris", "Chen", "Diana", "Elif", "Farid", "Grace", "Hugo", "Irina", "Jonas", "Kenji",
    "Lucia",
];
const LAST: [&str; 10] = [
    "Petrova", "Ivanov", "Wei", "Kowalska", "Yilmaz", "Haddad", "Okafor", "Lefebvre", "Smith",
    "Garcia",
];
const MESSAGES: [&str; 6] = [
    "Hello, my order has not arrived yet",
    "Can I get an invoice for my purchase?",
    "The app crashes when I open the cart",
    "Please call me back",
    "Is the winter sale still on?",
    "I forgot my password",
];

fn bench_data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .map(|p| p.join("bench-data"))
        .expect("target dir");
    fs::create_dir_all(&dir).expect("create target/bench-data");
    dir
}

/// 8 operators with room for everything, 4 weighted sources plus one nobody takes
/// (its 20 contacts wait), 1,000,000 contacts of which the newest 400 stay open.
fn build(path: &Path) {
    let started = Instant::now();
    let mut store = Store::open(
        path,
        OpenOptions {
            durability: Durability::Normal,
            seed: Some(11),
            actor: Some("bench".into()),
            ..OpenOptions::default()
        },
    )
    .expect("open");
    for i in 0..8 {
        store
            .add_operator(&format!("{} {}", FIRST[i], LAST[i]), 100_000, true)
            .expect("operator");
    }
    for (s, strategy) in SOURCES {
        store.add_source(s, "", strategy).expect("source");
        for i in 0..8 {
            if (i + s.len()) % 3 != 0 {
                store
                    .set_weight(
                        &EntityRef::parse(&format!("{} {}", FIRST[i], LAST[i])),
                        &EntityRef::parse(s),
                        10 + i as u32,
                    )
                    .expect("weight");
            }
        }
    }
    store
        .add_source("phone", "", Strategy::Weighted)
        .expect("source");
    const BATCH: u64 = 10_000;
    let first_ms = now_ms() - CONTACTS as i64 * 2_000;
    let mut done = 0u64;
    while done < CONTACTS {
        let n = BATCH.min(CONTACTS - done);
        let batch: Vec<NewContact> = (done..done + n)
            .map(|i| {
                let waits = i >= CONTACTS - 20;
                NewContact {
                    source: Some(EntityRef::parse(if waits {
                        "phone"
                    } else {
                        SOURCES[(i % 4) as usize].0
                    })),
                    // One lead in five comes back.
                    external_id: Some(format!("lead-{}", if i % 5 == 0 { i / 7 } else { i })),
                    name: Some(format!(
                        "{} {}",
                        FIRST[(i % 12) as usize],
                        LAST[(i / 12 % 10) as usize]
                    )),
                    message: Some(MESSAGES[(i % 6) as usize].to_string()),
                    ..NewContact::default()
                }
            })
            .collect();
        store.set_clock(Some(first_ms + done as i64 * 2_000));
        for r in store.add_contacts(&batch).expect("batch") {
            r.expect("contact");
        }
        done += n;
        // Operators work: close all but the newest open contacts, in bulk (the
        // triggers keep operator.load right), as routing's benchmark does.
        store
            .connection()
            .execute(
                "UPDATE contact SET status = 'closed', closed_at = created_at
                 WHERE status = 'active' AND +id <= (SELECT max(id) FROM contact) - 400",
                [],
            )
            .expect("close");
    }
    store
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    eprintln!("built {CONTACTS} contacts in {:.1?}", started.elapsed());
}

fn feed_file() -> PathBuf {
    let path = bench_data_dir().join(format!(
        "feed-{CONTACTS}-schema{}-format{FORMAT}.db",
        latest_version()
    ));
    if !path.exists() {
        let building = path.with_extension(format!("building-{}", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{suffix}", building.display()));
        }
        build(&building);
        fs::rename(&building, &path).expect("cache the file");
    }
    path
}

fn app(path: &Path) -> App {
    let store = Store::open(path, OpenOptions::default()).expect("open");
    let mut options = AppOptions::for_tests().expect("keymap");
    options.size = (120, 40);
    App::new(store, options).expect("app")
}

fn press(app: &mut App, name: &str) {
    let k = Key::parse(name).expect("key");
    app.handle_key(KeyEvent::new_with_kind(k.code, k.mods, KeyEventKind::Press));
}

/// What a tick does after another process committed: read the page again, then draw.
fn refresh_and_draw(app: &mut App, terminal: &mut Terminal<TestBackend>) {
    app.refresh().expect("refresh");
    terminal.draw(|f| render(app, f)).expect("draw");
}

fn feed_frames(c: &mut Criterion, path: &Path) {
    let mut group = c.benchmark_group("feed_120x40");
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");

    let mut top = app(path);
    top.switch_tab(Tab::Feed).expect("feed");
    group.bench_function("refresh_render_top", |b| {
        b.iter(|| refresh_and_draw(black_box(&mut top), &mut terminal))
    });

    let mut oldest = app(path);
    oldest.switch_tab(Tab::Feed).expect("feed");
    press(&mut oldest, "G");
    assert_eq!(oldest.feed_ids().last(), Some(&1), "on the oldest page");
    group.bench_function("refresh_render_oldest_page", |b| {
        b.iter(|| refresh_and_draw(black_box(&mut oldest), &mut terminal))
    });

    let mut waiting = app(path);
    waiting.switch_tab(Tab::Feed).expect("feed");
    press(&mut waiting, "w");
    assert_eq!(waiting.feed_ids().len(), 20);
    group.bench_function("refresh_render_waiting_only", |b| {
        b.iter(|| refresh_and_draw(black_box(&mut waiting), &mut terminal))
    });

    let mut source = app(path);
    source.switch_tab(Tab::Feed).expect("feed");
    press(&mut source, "f");
    press(&mut source, "right");
    press(&mut source, "enter");
    group.bench_function("refresh_render_one_source", |b| {
        b.iter(|| refresh_and_draw(black_box(&mut source), &mut terminal))
    });

    let mut paging = app(path);
    paging.switch_tab(Tab::Feed).expect("feed");
    group.bench_function("page_down_and_render", |b| {
        b.iter(|| {
            press(&mut paging, "pagedown");
            if paging.feed_ids().last() == Some(&1) {
                press(&mut paging, "g");
            }
            terminal.draw(|f| render(&paging, f)).expect("draw");
        })
    });
    group.finish();

    // A text search has to look at every row until it fills a page; measured apart.
    let mut group = c.benchmark_group("feed_120x40_search");
    group.sample_size(10);
    let mut search = app(path);
    search.switch_tab(Tab::Feed).expect("feed");
    press(&mut search, "/");
    for ch in "Petrova".chars() {
        press(&mut search, &ch.to_string());
    }
    press(&mut search, "enter");
    group.bench_function("refresh_render_common_text", |b| {
        b.iter(|| refresh_and_draw(black_box(&mut search), &mut terminal))
    });
    // Text that no contact has: every row is looked at (LIKE cannot use an index).
    let mut rare = app(path);
    rare.switch_tab(Tab::Feed).expect("feed");
    press(&mut rare, "/");
    for ch in "zzqx".chars() {
        press(&mut rare, &ch.to_string());
    }
    press(&mut rare, "enter");
    assert!(rare.feed_ids().is_empty());
    group.bench_function("refresh_render_absent_text", |b| {
        b.iter(|| refresh_and_draw(black_box(&mut rare), &mut terminal))
    });
    group.finish();

    let mut group = c.benchmark_group("start_to_first_frame_in_process");
    group.sample_size(20);
    group.bench_function("operators_tab", |b| {
        b.iter(|| {
            let a = app(path);
            terminal.draw(|f| render(&a, f)).expect("draw");
        })
    });
    group.bench_function("feed_tab", |b| {
        b.iter(|| {
            let mut a = app(path);
            a.switch_tab(Tab::Feed).expect("feed");
            terminal.draw(|f| render(&a, f)).expect("draw");
        })
    });
    group.finish();
}

fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The real binary in a 120x40 pseudo-terminal on the file: how long until the first
/// frame is on screen, its resident memory then and after paging around the feed,
/// and the CPU it uses over 5 s of doing nothing.
fn real_binary(path: &Path) {
    let mut starts = Vec::new();
    let mut report = String::new();
    for run in 0..7 {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: 40,
                cols: 120,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("pty");
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(["--db", &path.display().to_string(), "--read-only"]);
        cmd.env_remove("SWITCHBOARD_KEYMAP");
        cmd.env("XDG_CONFIG_HOME", "/nonexistent");
        cmd.env("TERM", "xterm-256color");
        let started = Instant::now();
        let mut child = pty.slave.spawn_command(cmd).expect("spawn");
        drop(pty.slave);
        let pid = child.process_id().expect("pid");
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let mut writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(40, 120, 0)));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut p) = sink.lock() {
                    p.process(&buf[..n]);
                }
            }
        });
        let wait_for = |text: &str| {
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if screen
                    .lock()
                    .expect("screen")
                    .screen()
                    .contents()
                    .contains(text)
                {
                    return;
                }
                assert!(Instant::now() < deadline, "'{text}' never appeared");
                std::thread::sleep(Duration::from_micros(200));
            }
        };
        wait_for("refreshed");
        starts.push(started.elapsed());
        if run == 0 {
            let rss = proc_status(pid, "VmRSS:").unwrap_or(0);
            // Page through the feed, to the oldest page and back.
            use std::io::Write;
            writer.write_all(b"4").expect("key");
            wait_for("newest first");
            for _ in 0..50 {
                writer.write_all(b"\x1b[6~").expect("pgdn");
            }
            writer.write_all(b"G").expect("key");
            wait_for("scrolled");
            writer.write_all(b"g").expect("key");
            wait_for("following");
            std::thread::sleep(Duration::from_millis(300));
            let rss_after = proc_status(pid, "VmRSS:").unwrap_or(0);
            let hwm = proc_status(pid, "VmHWM:").unwrap_or(0);
            // Idle: nothing changes in the file, nobody types.
            std::thread::sleep(Duration::from_millis(500));
            let before = cpu_ticks(pid).unwrap_or(0);
            let idle = Duration::from_secs(5);
            std::thread::sleep(idle);
            let after = cpu_ticks(pid).unwrap_or(0);
            let hz = 100.0; // USER_HZ on Linux
            let cpu = (after.saturating_sub(before)) as f64 / hz;
            report.push_str(&format!(
                "resident memory: {:.1} MiB after the first frame, {:.1} MiB after paging the feed (peak {:.1} MiB)\n\
                 CPU while idle: {:.2} s over {} s ({:.2}%)\n",
                rss as f64 / 1024.0,
                rss_after as f64 / 1024.0,
                hwm as f64 / 1024.0,
                cpu,
                idle.as_secs(),
                cpu / idle.as_secs_f64() * 100.0
            ));
        }
        writer.write_all(b"q").expect("quit");
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
    }
    starts.sort();
    eprintln!(
        "\nreal binary on {CONTACTS} contacts, 120x40 pty:\n\
         start to first frame: median {:.1?} (min {:.1?}, max {:.1?}, {} runs)\n{report}",
        starts[starts.len() / 2],
        starts[0],
        starts[starts.len() - 1],
        starts.len()
    );
}

fn main() {
    let path = feed_file();
    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    feed_frames(&mut c, &path);
    c.final_summary();
    real_binary(&path);
}
