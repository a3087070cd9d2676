//! Long listings: `contact list` and `lead list` with a huge `--limit` read the file
//! page by page and stream their output, in flat memory, with every row once and the
//! columns of every page lined up.

mod common;

use std::collections::BTreeSet;
use std::process::Stdio;

use common::Db;

/// A file with `n` contacts from `n / 2` leads over two sources.
fn file_with(n: usize) -> Db {
    let db = Db::new();
    db.ok(&["source", "add", "web"]);
    db.ok(&["source", "add", "telegram-bot"]);
    db.ok(&["operator", "add", "Anna Petrova", "--max-load", "100000"]);
    db.ok(&["weight", "set", "Anna Petrova", "web", "1"]);
    let mut input = String::new();
    for i in 0..n {
        let source = if i % 3 == 0 { "telegram-bot" } else { "web" };
        input.push_str(&format!(
            "{{\"source\":\"{source}\",\"email\":\"lead{}@example.com\",\"name\":\"Lead {}\",\"message\":\"order {i}\"}}\n",
            i / 2,
            i / 2
        ));
    }
    let out = db.ingest_stdin(&[], input.as_bytes());
    assert!(out.status.success(), "{}", common::stderr(&out));
    db
}

#[test]
fn a_long_contact_list_has_every_row_once_and_its_pages_line_up() {
    let db = file_with(1_234);
    let text = db.ok(&["contact", "list", "--limit", "1000000"]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1_235, "a header and every contact");
    assert!(lines[0].starts_with("  id  created"), "{}", lines[0]);
    let ids: Vec<i64> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, no repeats"
    );
    assert_eq!(
        ids.iter().copied().collect::<BTreeSet<_>>(),
        (1..=1_234).collect::<BTreeSet<_>>()
    );
    // Every page lines up with the first: the date starts in the same column.
    // The first '-' is the date's (YYYY-MM-DD follows the id).
    let date_at = |l: &str| l.find('-').unwrap();
    let first = date_at(lines[1]);
    assert!(lines[1..].iter().all(|l| date_at(l) == first));
    // In characters, not bytes: the waiting rows' operator is "—".
    let status_at = |l: &str| {
        let byte = l.find(" active ").or_else(|| l.find(" waiting ")).unwrap();
        l[..byte].chars().count()
    };
    let col = status_at(lines[1]);
    assert!(
        lines[1..].iter().all(|l| status_at(l) == col),
        "status column"
    );
    // A short listing still fits its content.
    let short = db.ok(&["contact", "list", "--limit", "3"]);
    assert_eq!(short.lines().count(), 4);
    // JSON: one array, the same contacts.
    let json = db.json(&["contact", "list", "--limit", "1000000"]);
    let all = json.as_array().unwrap();
    assert_eq!(all.len(), 1_234);
    assert_eq!(all[0]["id"], 1_234);
}

#[test]
fn a_long_lead_list_has_every_lead_once() {
    let db = file_with(1_100);
    let text = db.ok(&["lead", "list", "--limit", "1000000"]);
    let leads: Vec<&str> = text.lines().filter(|l| l.starts_with("lead #")).collect();
    assert_eq!(leads.len(), 550);
    let json = db.json(&["lead", "list", "--limit", "1000000"]);
    assert_eq!(json.as_array().unwrap().len(), 550);
    assert_eq!(
        db.json(&["lead", "list", "--limit", "0"]),
        serde_json::json!([])
    );
}

/// The peak resident memory of one run of the binary, in KiB (Linux: `wait4`, which
/// reaps the child itself, so std's `wait` is not called).
#[cfg(target_os = "linux")]
#[allow(clippy::zombie_processes)]
fn peak_kib(db: &Db, args: &[&str]) -> i64 {
    let child = db
        .cmd(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; both pointers are to live locals.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    usage.ru_maxrss
}

#[cfg(target_os = "linux")]
#[test]
fn a_huge_limit_streams_in_flat_memory() {
    let db = file_with(40_000);
    // A first run reads the file into the page cache, so the runs measured start
    // alike; it lists the default 100 newest under a header.
    let warm = db.ok(&["contact", "list"]);
    assert_eq!(warm.lines().count(), 101, "{warm}");
    let few = peak_kib(&db, &["contact", "list", "--limit", "500"]);
    let all = peak_kib(&db, &["contact", "list", "--limit", "100000000"]);
    let all_json = peak_kib(&db, &["--json", "contact", "list", "--limit", "100000000"]);
    let leads = peak_kib(&db, &["lead", "list", "--limit", "100000000"]);
    // Holding 40,000 contacts with their rendered rows takes tens of MiB; streaming
    // stays within a few of the 500-row run.
    for (what, kib) in [("table", all), ("json", all_json), ("leads", leads)] {
        assert!(
            kib < few + 8 * 1024,
            "{what}: {kib} KiB for everything against {few} KiB for 500 rows"
        );
    }
}
