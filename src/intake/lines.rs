//! One contact per line of JSON: reading lines of bounded length, and parsing one
//! into a contact to validate.

use std::io::{BufRead, BufReader, Read};
use std::sync::mpsc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::EntityRef;
use crate::store::{Intake, NewContact};

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
pub(super) type RawLine = (u64, Result<Vec<u8>, String>);

/// Lines travel between the threads in chunks of at most this many, so a channel
/// operation (and a possible wake-up) is paid per chunk, not per line.
pub(super) const CHUNK: usize = 256;
/// Read buffer of the reader thread.
pub(super) const READ_BUFFER: usize = 1 << 16;

/// Reads lines of at most [`MAX_LINE`] bytes; a longer line is reported and skipped
/// without holding it in memory. Lines are sent in chunks; a chunk also goes out
/// whenever the buffer is empty, before a read that may block, so a line typed into a
/// pipe is never held back waiting for more.
pub(super) fn read_lines<R: Read>(mut input: BufReader<R>, tx: mpsc::SyncSender<Vec<RawLine>>) {
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

/// Parses one line (the fields of an `ingest` line) into a contact to validate; the
/// error says what is wrong with the line.
pub fn parse_line(bytes: &[u8]) -> Result<NewContact, String> {
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
