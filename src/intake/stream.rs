//! `switchboard ingest`: JSON Lines in, one JSON result line out per input line,
//! committed in batches. A line's result is printed only after its batch committed.

use std::io::{BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::json;

use super::lines::{CHUNK, READ_BUFFER, RawLine, contact_line, parse_line, read_lines};
use super::writer;
use crate::domain::escape_control;
use crate::store::{Intake, Store, StoreError, ValidContact};

/// Summary of an ingest run.
#[derive(Debug, Default)]
pub struct IngestReport {
    pub accepted: u64,
    pub rejected: u64,
}

/// One committed batch on its way to the output: each line's number and, if it was
/// rejected before the store, why; then the store's results for the others, in order.
type Committed = (Vec<(u64, Option<String>)>, Vec<Result<Intake, StoreError>>);

/// Writes the result lines of committed batches, flushing after each batch.
/// Ends when every sender is gone, or once `stop` is set and nothing more is queued
/// (the writer stopped on an error while the parser may wait for input that never
/// comes).
fn write_results(
    batches: mpsc::Receiver<Committed>,
    stop: &AtomicBool,
    out: &mut (impl Write + Send),
) -> Result<IngestReport, StoreError> {
    let io_err = |e: std::io::Error| StoreError::Io(format!("cannot write output: {e}"));
    let mut report = IngestReport::default();
    loop {
        let (order, results) = match batches.recv_timeout(Duration::from_millis(20)) {
            Ok(b) => b,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) if stop.load(Ordering::Relaxed) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
        };
        let mut results = results.into_iter();
        for (n, rejected) in order {
            let value = match rejected {
                Some(e) => Err(e),
                None => match results.next() {
                    Some(Ok(intake)) => Ok(contact_line(&intake, n)),
                    Some(Err(e)) => Err(e.to_string()),
                    None => Err("internal error: missing result".into()),
                },
            };
            match value {
                Ok(v) => {
                    report.accepted += 1;
                    writeln!(out, "{v}").map_err(io_err)?;
                }
                Err(e) => {
                    report.rejected += 1;
                    // The error may quote the line: escaped like any error text, so a
                    // reader of the JSON string (or of the raw line) gets no control.
                    let error = escape_control(&e);
                    writeln!(out, "{}", json!({"line": n, "error": error})).map_err(io_err)?;
                }
            }
        }
        out.flush().map_err(io_err)?;
    }
    Ok(report)
}

/// Reads `input` to its end, writing one JSON line per input line to `out`.
///
/// Four threads: reading, parsing with validation, and writing results each run beside the
/// caller's thread, which is the group-commit writer (`writer.rs`) on `store`.
pub fn run(
    store: &mut Store,
    input: impl Read + Send + 'static,
    out: &mut (impl Write + Send),
    batch: usize,
) -> Result<IngestReport, StoreError> {
    run_bounded(
        store,
        input,
        out,
        batch,
        Some(Duration::from_millis(u64::from(super::DEFAULT_BATCH_MS))),
    )
}

/// [`run`] with batches bounded in time as well as in lines: a batch commits once it
/// has held the write lock for `time` while another writer waits (`None`: only
/// `batch` lines bound it).
pub fn run_bounded(
    store: &mut Store,
    input: impl Read + Send + 'static,
    out: &mut (impl Write + Send),
    batch: usize,
    time: Option<Duration>,
) -> Result<IngestReport, StoreError> {
    let batch = batch.max(1);
    let chunks = batch.div_ceil(CHUNK) * 2 + 1;
    let (raw_tx, raw_rx) = mpsc::sync_channel::<Vec<RawLine>>(chunks);
    let (queue, jobs) = writer::queue(Some(chunks));
    // Answers arrive in submission order (one writer, first in first out), so the
    // output keeps the input's order.
    let (done_tx, done_rx) = mpsc::sync_channel::<Committed>(chunks);
    let reader =
        thread::spawn(move || read_lines(BufReader::with_capacity(READ_BUFFER, input), raw_tx));
    let parser = thread::spawn(move || {
        for chunk in raw_rx {
            // Each line keeps its number and, if it was rejected, its error; the
            // others go to the writer as one submission.
            let mut order: Vec<(u64, Option<String>)> = Vec::with_capacity(chunk.len());
            let mut good: Vec<ValidContact> = Vec::with_capacity(chunk.len());
            for (n, raw) in chunk {
                // A blank line (a trailing newline, a spacer) is no contact: skipped
                // without an answer.
                if raw
                    .as_ref()
                    .is_ok_and(|b| b.iter().all(u8::is_ascii_whitespace))
                {
                    continue;
                }
                let valid = raw
                    .and_then(|b| parse_line(&b))
                    .and_then(|c| c.validate().map_err(|e| e.to_string()));
                match valid {
                    Ok(c) => {
                        good.push(c);
                        order.push((n, None));
                    }
                    Err(e) => order.push((n, Some(e))),
                }
            }
            let done = done_tx.clone();
            let reply: writer::Reply = Box::new(move |results| {
                let _ = done.send((order, results));
            });
            if queue.submit(good, reply).is_err() {
                return;
            }
        }
    });
    let stop = AtomicBool::new(false);
    let outcome = thread::scope(|scope| {
        let stop = &stop;
        let output = scope.spawn(move || write_results(done_rx, stop, out));
        let stored = writer::run(
            store,
            &jobs,
            writer::Limits {
                max_batch: batch,
                budget: time,
                on_error: writer::OnError::Stop,
            },
        );
        // The parser's next submission fails; the output ends once what was
        // answered is written.
        drop(jobs);
        stop.store(true, Ordering::Relaxed);
        let written = output.join().unwrap_or_else(|_| {
            Err(StoreError::Io(
                "internal error: the output thread failed".into(),
            ))
        });
        stored.and(written)
    });
    if outcome.is_ok() {
        // Input ended: both have finished or are about to. (After an error they are
        // left alone: the reader may be blocked on a terminal that sends nothing.)
        let _ = reader.join();
        let _ = parser.join();
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::super::MAX_LINE;
    use super::super::lines::parse_line as parse;
    use super::*;
    use serde_json::Value;

    #[test]
    fn reads_lines_with_a_limit() {
        let mut input = b"a\n\r\n".to_vec();
        input.extend(vec![b'x'; MAX_LINE + 10]);
        input.extend(b"\nlast");
        let (tx, rx) = mpsc::sync_channel(10);
        read_lines(BufReader::new(std::io::Cursor::new(input)), tx);
        let got: Vec<RawLine> = rx.iter().flatten().collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], (1, Ok(b"a".to_vec())));
        assert_eq!(got[1], (2, Ok(Vec::new())));
        assert!(got[2].1.as_ref().unwrap_err().contains("longer"));
        assert_eq!(got[3], (4, Ok(b"last".to_vec())));
    }

    /// Batches cut by time answer every line once, in input order, with the same
    /// results as batches cut by count only.
    #[test]
    fn time_bounded_batches_answer_every_line_in_order() {
        use crate::domain::Strategy;
        use crate::store::OpenOptions;
        let mut input = String::new();
        for i in 0..500 {
            if i % 7 == 3 {
                input.push_str("{not json\n");
            } else {
                input.push_str(&format!(
                    "{{\"source\":\"web\",\"email\":\"p{}@example.com\"}}\n",
                    i % 40
                ));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let run_one = |name: &str, time: Option<Duration>| -> String {
            let mut store = Store::open(
                dir.path().join(name),
                OpenOptions {
                    seed: Some(3),
                    ..OpenOptions::default()
                },
            )
            .unwrap();
            store.add_operator("ann", 1_000, true).unwrap();
            store.add_source("web", "", Strategy::Weighted).unwrap();
            store.set_weight(&"ann".into(), &"web".into(), 1).unwrap();
            let mut out = Vec::new();
            let report = run_bounded(
                &mut store,
                std::io::Cursor::new(input.clone().into_bytes()),
                &mut out,
                10_000,
                time,
            )
            .unwrap();
            assert_eq!(report.accepted + report.rejected, 500);
            // Times differ between runs; lines, ids and outcomes must not.
            String::from_utf8(out)
                .unwrap()
                .lines()
                .map(|l| {
                    let v: Value = serde_json::from_str(l).unwrap();
                    format!("{} {} {} {}", v["line"], v["id"], v["operator"], v["error"])
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let by_count = run_one("count.db", None);
        // With another writer waiting, a zero budget commits every 31 contacts: many
        // batches.
        let _other = crate::store::turn::Waiter::new(&dir.path().join("time.db"));
        let by_time = run_one("time.db", Some(Duration::ZERO));
        assert_eq!(by_count.lines().count(), 500);
        assert_eq!(by_time, by_count);
    }

    #[test]
    fn parses_and_rejects() {
        assert!(parse(br#"{"source":"web","email":"a@b.c"}"#).is_ok());
        assert!(parse(br#"{"source":3,"phone":"+1 555 0100"}"#).is_ok());
        assert!(parse(b"{not json").unwrap_err().contains("invalid JSON"));
        assert!(
            parse(br#"{"email":"a@b.c"}"#)
                .unwrap_err()
                .contains("source")
        );
        assert!(
            parse(br#"{"source":"web","emial":"a@b.c"}"#)
                .unwrap_err()
                .contains("emial")
        );
        assert!(parse(b"\xff\xfe").unwrap_err().contains("UTF-8"));
        assert!(parse(b"  ").unwrap_err().contains("empty"));
    }
}
