//! `switchboard ingest`: JSON Lines in, one JSON result line out per input line,
//! committed in batches. A line's result is printed only after its batch committed.

use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::thread;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::EntityRef;
use crate::store::{Intake, NewContact, Store, StoreError};

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
/// One input line parsed: its number and contact, or why it was rejected.
type ParsedLine = (u64, Result<NewContact, String>);

/// Reads lines of at most [`MAX_LINE`] bytes; a longer line is reported and skipped
/// without holding it in memory.
fn read_lines(mut input: impl BufRead, tx: mpsc::SyncSender<RawLine>) {
    let mut number = 0u64;
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
                    let _ = tx.send((number, Err(format!("cannot read input: {e}"))));
                    return;
                }
            };
            if buf.is_empty() {
                break;
            }
            saw_any = true;
            let (chunk, consumed, end) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (&buf[..i], i + 1, true),
                None => (buf, buf.len(), false),
            };
            if !too_long {
                if line.len() + chunk.len() > MAX_LINE {
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            input.consume(consumed);
            if end {
                break;
            }
        }
        if !saw_any {
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
        if tx.send((number, item)).is_err() {
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
pub struct IngestReport {
    pub accepted: u64,
    pub rejected: u64,
}

/// Reads `input` to its end, writing one JSON line per input line to `out`.
pub fn run(
    store: &mut Store,
    input: impl BufRead + Send + 'static,
    out: &mut impl Write,
    batch: usize,
) -> Result<IngestReport, StoreError> {
    // Reading and JSON parsing run on their own thread, so the store's transaction
    // work (the single writer) is all the main thread does.
    let (raw_tx, raw_rx) = mpsc::sync_channel::<RawLine>(batch.max(1) * 2);
    let (tx, rx) = mpsc::sync_channel::<ParsedLine>(batch.max(1) * 2);
    let reader = thread::spawn(move || read_lines(input, raw_tx));
    let parser = thread::spawn(move || {
        for (n, raw) in raw_rx {
            if tx.send((n, raw.and_then(|b| parse(&b)))).is_err() {
                return;
            }
        }
    });
    let mut report = IngestReport {
        accepted: 0,
        rejected: 0,
    };
    let io_err = |e: std::io::Error| StoreError::Io(format!("cannot write output: {e}"));
    // Take what is available now, up to `batch`: a pipe that trickles gets each line
    // acknowledged quickly, a file gets large transactions.
    while let Ok(first) = rx.recv() {
        let mut lines = vec![first];
        while lines.len() < batch {
            match rx.try_recv() {
                Ok(l) => lines.push(l),
                Err(_) => break,
            }
        }
        // The contacts go to the store; each line keeps its number and, if it was
        // rejected, its error, so results come out in input order.
        let mut good: Vec<NewContact> = Vec::with_capacity(lines.len());
        let mut order: Vec<(u64, Option<String>)> = Vec::with_capacity(lines.len());
        for (n, p) in lines {
            match p {
                Ok(c) => {
                    good.push(c);
                    order.push((n, None));
                }
                Err(e) => order.push((n, Some(e))),
            }
        }
        let mut results = store.add_contacts(&good)?.into_iter();
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
                    writeln!(out, "{}", json!({"line": n, "error": e})).map_err(io_err)?;
                }
            }
        }
        out.flush().map_err(io_err)?;
    }
    let _ = reader.join();
    let _ = parser.join();
    Ok(report)
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
        read_lines(std::io::Cursor::new(input), tx);
        let got: Vec<RawLine> = rx.iter().collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], (1, Ok(b"a".to_vec())));
        assert_eq!(got[1], (2, Ok(Vec::new())));
        assert!(got[2].1.as_ref().unwrap_err().contains("longer"));
        assert_eq!(got[3], (4, Ok(b"last".to_vec())));
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
