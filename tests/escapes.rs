//! Text from the data never reaches the terminal as control: every printing command of
//! the real binary shows stored control characters as visible escapes, names refuse
//! them at intake, and tables line up by display width.

mod common;

use std::process::Output;

use common::{Db, array, assert_one_error_line, assert_success, count, json_lines, stdout};
use serde_json::{Value, json};
use switchboard::domain::display_width;

/// What a hostile record holds: an OSC that sets the window title, a screen clear, an
/// 8-bit CSI, DEL, NUL, CR, tab, LF, a right-to-left override and an isolate, a line
/// separator.
const HOSTILE: &str =
    "\u{1b}]2;pwned\u{7}M\u{1b}[2J\u{9b}31m\u{7f}\0\r\t\n\u{202e}\u{2066}x\u{2069}\u{2028}";

/// Characters that act on a terminal instead of being drawn. Only a line feed may
/// reach it (between output lines).
fn acts_on_terminal(c: char) -> bool {
    c != '\n'
        && (c.is_control()
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'))
}

/// Neither stdout nor stderr carries a control character (other than line feeds).
fn assert_no_control(out: &Output, what: &str) {
    for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = std::str::from_utf8(bytes)
            .unwrap_or_else(|e| panic!("{what}: {stream} is not UTF-8 ({e})"));
        assert!(!bytes.contains(&0x1b), "{what}: ESC on {stream}: {text:?}");
        assert!(!bytes.contains(&0x07), "{what}: BEL on {stream}: {text:?}");
        assert!(
            !text.contains('\u{9b}'),
            "{what}: CSI on {stream}: {text:?}"
        );
        if let Some((i, c)) = text.char_indices().find(|&(_, c)| acts_on_terminal(c)) {
            panic!(
                "{what}: U+{:04X} at byte {i} of {stream}: {text:?}",
                c as u32
            );
        }
    }
}

/// Runs `args`, asserts success and clean output, returns stdout.
fn clean_ok(db: &Db, args: &[&str]) -> String {
    let out = db.run(args);
    assert_success(&out, &args);
    assert_no_control(&out, &format!("{args:?}"));
    stdout(&out)
}

/// Runs `args`, asserts one clean error line, returns it.
fn clean_fail(db: &Db, args: &[&str]) -> String {
    let out = db.run(args);
    assert_no_control(&out, &format!("{args:?}"));
    assert_one_error_line(&out, &args)
}

/// A file with operators, sources, weights, leads, contacts (active, waiting) and audit
/// entries made through the CLI, then given hostile text straight in SQLite, the way
/// an older build or another program could have left it.
fn planted() -> Db {
    let db = Db::new();
    db.ok(&["source", "add", "web", "--description", "site form"]);
    db.ok(&["source", "add", "spare"]);
    db.ok(&["operator", "add", "ann", "--max-load", "5"]);
    db.ok(&["weight", "set", "ann", "web", "1"]);
    db.ok(&[
        "contact",
        "add",
        "--source",
        "web",
        "--external-id",
        "e1",
        "--phone",
        "+1 555 0100",
        "--email",
        "a@b.io",
        "--name",
        "Ivan",
        "--message",
        "hi",
        "--idempotency-key",
        "k1",
    ]);
    db.ok(&["contact", "add", "--source", "spare", "--email", "w@b.io"]);

    let conn = db.conn();
    let hostile = |prefix: &str| format!("{prefix}{HOSTILE}");
    conn.execute(
        "UPDATE operator SET name = ?1 WHERE name = 'ann'",
        [hostile("ann")],
    )
    .unwrap();
    conn.execute(
        "UPDATE source SET name = ?1, description = ?2 WHERE name = 'web'",
        [hostile("web"), hostile("desc")],
    )
    .unwrap();
    conn.execute(
        "UPDATE lead SET name = ?1, external_id = ?2, phone = ?3, email = ?4 WHERE external_id = 'e1'",
        [hostile(""), hostile("e1"), hostile("+1"), hostile("a@")],
    )
    .unwrap();
    conn.execute(
        "UPDATE contact SET message = ?1, idempotency_key = ?2, assigned_by = ?3",
        [hostile("msg"), hostile("k"), hostile("by")],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO audit (at, actor, action, entity, entity_id, before, after)
         VALUES (0, ?1, 'operator.update', 'operator', 1, ?2, ?3)",
        [
            hostile("pwned-actor"),
            json!({"name": hostile("old"), "max_load": 5}).to_string(),
            json!({"name": hostile("new"), "max_load": 6}).to_string(),
        ],
    )
    .unwrap();
    db
}

#[test]
fn stored_control_characters_print_escaped_everywhere() {
    let db = planted();

    for args in [
        &["operator", "list"][..],
        &["source", "list"],
        &["weight", "list"],
        &["contact", "list"],
        &["contact", "list", "--status", "waiting"],
        &["contact", "list", "--source", "1"],
        &["lead", "list"],
        &["stats"],
        &["audit"],
        &["audit", "--filter", "pwned"],
    ] {
        clean_ok(&db, args);
    }

    // The known defect: the lead's name no longer sets the title or clears the screen,
    // and shows what it holds.
    let leads = clean_ok(&db, &["lead", "list"]);
    assert!(leads.contains(r"\e]2;pwned\u{7}M\e[2J\u{9b}31m"), "{leads}");
    // The audit names the actor and the description as escapes.
    let audit = clean_ok(&db, &["audit"]);
    assert!(audit.contains(r"pwned-actor\e]2;pwned"), "{audit}");
    let filtered = clean_ok(&db, &["audit", "--filter", "pwned"]);
    assert!(filtered.contains(r"name: old\e]2;pwned"), "{filtered}");
    // One-line cells: the stored newline shows as `\n`, so every row stays one line.
    let contacts = clean_ok(&db, &["contact", "list"]);
    assert_eq!(contacts.lines().count(), 3, "{contacts}");
    let sources = clean_ok(&db, &["source", "list"]);
    assert!(sources.contains(r"desc\e]2;"), "{sources}");

    // Commands that print one record: the operator's name escaped.
    let out = clean_ok(&db, &["contact", "assign", "2", "1", "--force"]);
    assert!(out.contains(r"(operator ann\e]2;pwned"), "{out}");
    for args in [
        &["contact", "close", "1"][..],
        &["contact", "reopen", "1"],
        &["operator", "set", "1", "--max-load", "6"],
        &["source", "set", "1", "--strategy", "capacity"],
        &["weight", "set", "1", "1", "2"],
        &["contact", "drain"],
    ] {
        clean_ok(&db, args);
    }

    // Errors that quote stored or typed text.
    let line = clean_fail(&db, &["operator", "delete", "1"]);
    assert!(line.contains(r"operator 'ann\e]2;pwned"), "{line}");
    let line = clean_fail(&db, &["contact", "list", "--source", "no\u{1b}[2Jpe\u{9b}"]);
    assert_eq!(line, r"error: source 'no\e[2Jpe\u{9b}' not found");
    let line = clean_fail(&db, &["contact", "list", "--operator", "x\u{7}"]);
    assert_eq!(line, r"error: operator 'x\u{7}' not found");
    let line = clean_fail(&db, &["source", "add", "ok", "--strategy", "we\u{1b}[2Jb"]);
    assert!(line.contains(r"we\e[2jb"), "{line}");
    let line = clean_fail(
        &db,
        &[
            "contact",
            "add",
            "--source",
            "spare",
            "--phone",
            "1\u{1b}[2J",
        ],
    );
    assert!(line.contains(r"1\e[2J"), "{line}");
    // A command-line parse error quotes the argument as given.
    let line = clean_fail(
        &db,
        &["operator", "add", "x", "--max-load", "\u{1b}[2J\u{7}9"],
    );
    assert!(line.contains(r"'\e[2J\u{7}9' for '--max-load"), "{line}");
    let line = clean_fail(&db, &["operator", "add", "x", "--bad\u{1b}]2;t\u{7}"]);
    assert!(line.contains(r"--bad\e]2;t\u{7}"), "{line}");
}

#[test]
fn ingest_error_lines_are_escaped() {
    let db = planted();
    let input = concat!(
        r#"{"source":"w\u001b[2Jeb\u009b","email":"x@y.io"}"#,
        "\n",
        r#"{"source":"spare","email":"\u001b]2;pwned\u0007"}"#,
        "\n",
    );
    let out = db.ingest_stdin(&[], input.as_bytes());
    assert_no_control(&out, "ingest");
    let lines = json_lines(&out);
    assert_eq!(lines[0]["error"], r"source 'w\e[2Jeb\u{9b}' not found");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains(r"\e]2;pwned\u{7}"),
        "{}",
        lines[1]
    );
}

#[test]
fn json_output_escapes_c0_controls_and_keeps_the_exact_text() {
    let db = Db::new();
    db.ok(&["source", "add", "web", "--description", "d"]);
    db.ok(&["operator", "add", "ann"]);
    db.ok(&["contact", "add", "--source", "web", "--external-id", "e1"]);
    // serde_json writes C0 controls as \u00XX; DEL, C1 and bidi controls it leaves as
    // they are, so this text holds C0 controls only.
    let c0 = "\u{1b}]2;pwned\u{7}M\u{1b}[2J\0\r\t\n";
    let conn = db.conn();
    conn.execute("UPDATE operator SET name = ?1", [format!("ann{c0}")])
        .unwrap();
    conn.execute("UPDATE source SET description = ?1", [c0])
        .unwrap();
    conn.execute("UPDATE lead SET name = ?1", [c0]).unwrap();
    conn.execute("UPDATE contact SET message = ?1", [c0])
        .unwrap();

    let check = |args: &[&str]| -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = db.run(&all);
        assert_success(&out, &all);
        assert_no_control(&out, &format!("{all:?}"));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(check(&["operator", "list"])[0]["name"], format!("ann{c0}"));
    assert_eq!(check(&["source", "list"])[0]["description"], c0);
    assert_eq!(check(&["lead", "list"])[0]["name"], c0);
    let contacts = check(&["contact", "list"]);
    assert_eq!(contacts[0]["message"], c0);
    assert_eq!(contacts[0]["lead"], c0);
    let audit = check(&["audit"]);
    assert!(!array(audit).is_empty());
}

#[test]
fn names_with_control_characters_are_refused_at_intake() {
    let db = Db::new();
    let line = clean_fail(&db, &["operator", "add", "\u{1b}]2;pwned\u{7}M"]);
    assert_eq!(
        line,
        "error: operator name contains a control character (U+001B at position 1)"
    );
    let line = clean_fail(&db, &["operator", "add", "An\u{9b}n"]);
    assert_eq!(
        line,
        "error: operator name contains a control character (U+009B at position 3)"
    );
    let line = clean_fail(&db, &["source", "add", "web\u{202e}bad"]);
    assert_eq!(
        line,
        "error: source name contains a bidirectional control character (U+202E at position 4)"
    );
    let line = clean_fail(&db, &["operator", "add", "\u{200b}\u{feff}"]);
    assert!(
        line.starts_with("error: operator name has no visible characters"),
        "{line}"
    );
    let line = clean_fail(&db, &["--actor", "ev\u{1b}[31mil", "source", "add", "web"]);
    assert_eq!(
        line,
        "error: actor name contains a control character (U+001B at position 3)"
    );
    assert!(array(db.json(&["operator", "list"])).is_empty());
    assert!(array(db.json(&["source", "list"])).is_empty());

    db.ok(&["source", "add", "web"]);
    db.ok(&["operator", "add", "ann"]);
    let line = clean_fail(&db, &["operator", "set", "ann", "--rename", "a\u{7}"]);
    assert!(line.contains("U+0007 at position 2"), "{line}");
    assert_eq!(db.operators()[0]["name"], "ann");
}

#[test]
fn ingest_refuses_control_characters_in_names_and_keeps_message_lines() {
    let db = Db::new();
    db.ok(&["source", "add", "web"]);
    let input = [
        r#"{"source":"web","external_id":"x","name":"\u001b]2;pwned\u0007M"}"#,
        r#"{"source":"web","external_id":"y","name":"\u001b[2J"}"#,
        r#"{"source":"web","external_id":"z","name":"\u200b\u200d"}"#,
        r#"{"source":"web","external_id":"n","name":"A\u0000B"}"#,
        r#"{"source":"web","external_id":"m","message":"stop\u001b[2J"}"#,
        r#"{"source":"web","external_id":"ok","name":"Ivan","message":"Hello,\r\n\twhere is my order?\nThanks"}"#,
    ]
    .join("\n");
    let out = db.ingest_stdin(&[], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert_no_control(&out, "ingest");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 6);
    assert_eq!(
        lines[0]["error"],
        "lead name contains a control character (U+001B at position 1)"
    );
    assert_eq!(
        lines[1]["error"],
        "lead name contains a control character (U+001B at position 1)"
    );
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .starts_with("lead name has no visible characters"),
        "{}",
        lines[2]
    );
    assert_eq!(
        lines[3]["error"],
        "lead name contains a control character (U+0000 at position 2)"
    );
    assert_eq!(
        lines[4]["error"],
        "message contains a control character (U+001B at position 5)"
    );
    assert_eq!(lines[5]["lead"], "Ivan", "{}", lines[5]);

    // Nothing of the refused lines was stored; the good one keeps its line breaks.
    let conn = db.conn();
    assert_eq!(count(&conn, "SELECT count(*) FROM lead"), 1);
    assert_eq!(count(&conn, "SELECT count(*) FROM contact"), 1);
    let contacts = db.contacts();
    assert_eq!(
        contacts[0]["message"],
        "Hello,\r\n\twhere is my order?\nThanks"
    );
    // In a table the message stays on its row, its line breaks shown as escapes.
    let table = clean_ok(&db, &["contact", "list"]);
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(table.contains(r"Hello,\r\n\twhere is my"), "{table}");
}

#[test]
fn tables_line_up_by_display_width() {
    let db = Db::new();
    for name in ["李小龙", "Ann", "😀 Smiley", "Zoë", "김민준 Kim"] {
        db.ok(&["operator", "add", name]);
    }
    db.ok(&["operator", "set", "Ann", "--active", "false"]);
    let table = clean_ok(&db, &["operator", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 6, "{table}");
    // The column after the name ("active": yes/no) starts at the same display column
    // on every row.
    let column = |line: &str| -> usize {
        let at = ["  active", "  yes", "  no"]
            .iter()
            .filter_map(|cell| line.find(cell))
            .min()
            .unwrap_or_else(|| panic!("no active cell in {line:?}"))
            + 2;
        display_width(&line[..at])
    };
    let first = column(lines[0]);
    for line in &lines {
        assert_eq!(column(line), first, "misaligned:\n{table}");
    }
    // Wide characters really are wider: the CJK row's prefix has fewer characters.
    let chars = |line: &str| line.find("  yes").map(|at| line[..at + 2].chars().count());
    let cjk = lines.iter().find(|l| l.contains("李小龙")).unwrap();
    let zoe = lines.iter().find(|l| l.contains("Zoë")).unwrap();
    assert_eq!(chars(zoe).unwrap() - chars(cjk).unwrap(), 3, "{table}");
}
