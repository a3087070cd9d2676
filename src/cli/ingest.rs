//! `switchboard ingest`: JSON Lines in, one JSON result line out per input line,
//! committed in batches. A line's result is printed only after its batch committed.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::{EntityRef, escape_control};
use crate::store::{Intake, NewContact, Store, StoreError, ValidContact};

/// Lines committed in one transaction unless `--batch` says otherwise. Larger batches
/// rewrite the pages of the random-position indexes (lead identifiers, idempotency
/// keys) to the WAL fewer times; 5,000 measured about 8% slower than 20,000.
pub const DEFAULT_BATCH: u32 = 20_000;

/// How long one batch may hold the write lock, unless `--batch-ms` says otherwise:
/// a supervisor's edit waits at most about this long behind intake (see
/// `store/turn.rs`).
pub const DEFAULT_BATCH_MS: u32 = 50;

/// Longest input line accepted, in bytes.
pub const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SourceField {
    // Names first: untagged variants are tried in order, and names are the usual case.
    Name(String),
    Id(i64),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    source: Option<SourceField>,
    external_id: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    name: Option<String>,
    message: Option<String>,
    idempotency_key: Option<String>,
}

/// One input line as read: its number and bytes, or why it could not be read.
type RawLine = (u64, Result<Vec<u8>, String>);
/// One input line parsed and validated: its number and contact, or why it was
/// rejected.
type ParsedLine = (u64, Result<ValidContact, String>);

/// Lines travel between the threads in chunks of at most this many, so a channel
/// operation (and a possible wake-up) is paid per chunk, not per line.
const CHUNK: usize = 256;
/// Read buffer of the reader thread.
const READ_BUFFER: usize = 1 << 16;

/// Reads lines of at most [`MAX_LINE`] bytes; a longer line is reported and skipped
/// without holding it in memory. Lines are sent in chunks; a chunk also goes out
/// whenever the buffer is empty, before a read that may block, so a line typed into a
/// pipe is never held back waiting for more.
fn read_lines<R: Read>(mut input: BufReader<R>, tx: mpsc::SyncSender<Vec<RawLine>>) {
    let mut number = 0u64;
    let mut chunk: Vec<RawLine> = Vec::with_capacity(CHUNK);
    loop {
        let mut line = Vec::new();
        let mut too_long = false;
        let mut saw_any = false;
        loop {
            let buf = match input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    number += 1;
                    chunk.push((number, Err(format!("cannot read input: {e}"))));
                    let _ = tx.send(chunk);
                    return;
                }
            };
            if buf.is_empty() {
                break;
            }
            saw_any = true;
            let (piece, consumed, end) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], i + 1, true),
                None => (buf, buf.len(), false),
            };
            if !too_long {
                if line.len() + piece.len() > MAX_LINE {
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(piece);
                }
            }
            input.consume(consumed);
            if end {
                break;
            }
        }
        if !saw_any {
            if !chunk.is_empty() {
                let _ = tx.send(chunk);
            }
            return;
        }
        number += 1;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        // A byte-order mark some editors put at the start of a file is not content.
        if number == 1 && line.starts_with(b"\xEF\xBB\xBF") {
            line.drain(..3);
        }
        let item = if too_long {
            Err(format!("line is longer than {MAX_LINE} bytes"))
        } else {
            Ok(line)
        };
        chunk.push((number, item));
        let flush = chunk.len() >= CHUNK || input.buffer().is_empty();
        if flush
            && tx
                .send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                .is_err()
        {
            return;
        }
    }
}

fn parse(bytes: &[u8]) -> Result<NewContact, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "line is not valid UTF-8".to_string())?;
    if text.trim().is_empty() {
        return Err("empty line: expected a JSON object".into());
    }
    let line: Line = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let source = match line.source {
        None => return Err("missing field `source`".into()),
        Some(SourceField::Id(id)) => EntityRef::Id(id),
        Some(SourceField::Name(n)) => EntityRef::parse(&n),
    };
    Ok(NewContact {
        source: Some(source),
        external_id: line.external_id,
        phone: line.phone,
        email: line.email,
        name: line.name,
        message: line.message,
        idempotency_key: line.idempotency_key,
    })
}

/// One result line: the contact's JSON with `duplicate` and `line` appended. Written
/// straight to text (no intermediate map): ingest prints one per contact.
pub fn contact_line(intake: &Intake, line: u64) -> String {
    let mut s = serde_json::to_string(&intake.contact).unwrap_or_else(|_| "{}".into());
    if s.ends_with('}') {
        s.pop();
        let sep = if s.len() > 1 { "," } else { "" };
        s.push_str(&format!(
            "{sep}\"duplicate\":{},\"line\":{line}}}",
            intake.duplicate
        ));
    }
    s
}

pub fn contact_json(intake: &Intake, line: Option<u64>) -> Value {
    let mut v = serde_json::to_value(&intake.contact).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("duplicate".into(), Value::Bool(intake.duplicate));
        if let Some(n) = line {
            map.insert("line".into(), json!(n));
        }
    }
    v
}

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
fn write_results(
    batches: mpsc::Receiver<Committed>,
    out: &mut (impl Write + Send),
) -> Result<IngestReport, StoreError> {
    let io_err = |e: std::io::Error| StoreError::Io(format!("cannot write output: {e}"));
    let mut report = IngestReport::default();
    for (order, results) in batches {
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
/// caller's thread, which does only the store's transactions (the single writer).
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
        Some(Duration::from_millis(u64::from(DEFAULT_BATCH_MS))),
    )
}

/// [`run`] with batches bounded in time as well as in lines: a batch commits once it
/// has held the write lock for `time` (`None`: only `batch` lines bound it).
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
    let (tx, rx) = mpsc::sync_channel::<Vec<ParsedLine>>(chunks);
    let reader =
        thread::spawn(move || read_lines(BufReader::with_capacity(READ_BUFFER, input), raw_tx));
    let parser = thread::spawn(move || {
        for chunk in raw_rx {
            let parsed = chunk
                .into_iter()
                .map(|(n, raw)| {
                    let valid = raw
                        .and_then(|b| parse(&b))
                        .and_then(|c| c.validate().map_err(|e| e.to_string()));
                    (n, valid)
                })
                .collect();
            if tx.send(parsed).is_err() {
                return;
            }
        }
    });
    let outcome = thread::scope(|scope| {
        let (done_tx, done_rx) = mpsc::sync_channel::<Committed>(2);
        let writer = scope.spawn(move || write_results(done_rx, out));
        let mut pending: VecDeque<ParsedLine> = VecDeque::new();
        let stored = loop {
            // Take what is available now, up to `batch`: a pipe that trickles gets
            // each line acknowledged quickly, a file gets large transactions.
            if pending.is_empty() {
                match rx.recv() {
                    Ok(chunk) => pending.extend(chunk),
                    Err(_) => break Ok(()),
                }
            }
            while pending.len() < batch {
                match rx.try_recv() {
                    Ok(chunk) => pending.extend(chunk),
                    Err(_) => break,
                }
            }
            // The contacts go to the store; each line keeps its number and, if it was
            // rejected, its error, so results come out in input order.
            let take = pending.len().min(batch);
            let mut good: Vec<ValidContact> = Vec::with_capacity(take);
            let mut order: Vec<(u64, Option<String>)> = Vec::with_capacity(take);
            for (n, p) in pending.drain(..take) {
                match p {
                    Ok(c) => {
                        good.push(c);
                        order.push((n, None));
                    }
                    Err(e) => order.push((n, Some(e))),
                }
            }
            // Without a time bound a batch still gives way to a person at once.
            let results = store.add_valid_contacts_within(&good, time.unwrap_or(Duration::MAX));
            let results = match results {
                Ok(r) => r,
                Err(e) => break Err(e),
            };
            if results.len() < good.len() {
                // The time ran out first: what was not taken goes back to the front,
                // and only the lines up to the last one taken are answered now.
                let mut rest = good.split_off(results.len()).into_iter();
                let mut taken = 0;
                let cut = order
                    .iter()
                    .position(|(_, rejected)| {
                        if rejected.is_none() {
                            taken += 1;
                        }
                        taken > results.len()
                    })
                    .unwrap_or(order.len());
                let back: Vec<ParsedLine> = order
                    .split_off(cut)
                    .into_iter()
                    .map(|(n, rejected)| match rejected {
                        Some(e) => (n, Err(e)),
                        None => (
                            n,
                            rest.next()
                                .ok_or_else(|| "internal error: lost a line".to_string()),
                        ),
                    })
                    .collect();
                for line in back.into_iter().rev() {
                    pending.push_front(line);
                }
            }
            if done_tx.send((order, results)).is_err() {
                // The writer stopped on an output error; it reports it below.
                break Ok(());
            }
        };
        drop(done_tx);
        let written = writer.join().unwrap_or_else(|_| {
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
    use super::*;

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
