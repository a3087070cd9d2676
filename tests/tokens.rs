//! `switchboard token add | list | revoke` through the real binary, and schema V4 on
//! an older file.

mod common;

use common::{Db, array, assert_success, stderr, stdout};
use serde_json::Value;
use switchboard::domain::Role;
use switchboard::store::{OpenOptions, Store, create_at_schema_version, latest_version};

/// `sb_` and 43 characters of URL-safe base64.
fn looks_like_a_secret(s: &str) -> bool {
    s.strip_prefix("sb_").is_some_and(|body| {
        body.len() == 43
            && body
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// Adds a token and returns its secret, checking what goes where: the secret alone on
/// stdout, one note on stderr.
fn add(db: &Db, name: &str, role: &str) -> String {
    let out = db.run(&["token", "add", name, "--role", role]);
    assert_success(&out, &("token add", name));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "stdout: {text:?}");
    assert!(looks_like_a_secret(lines[0]), "{text:?}");
    let note = stderr(&out);
    assert_eq!(note.lines().count(), 1, "stderr: {note:?}");
    assert!(
        note.contains("shown this once") && note.contains("SHA-256 hash"),
        "{note:?}"
    );
    lines[0].to_string()
}

fn authenticate(db: &Db, secret: &str) -> Option<switchboard::store::Token> {
    let options = OpenOptions {
        read_only: true,
        ..OpenOptions::default()
    };
    Store::open(&db.path, options)
        .unwrap()
        .authenticate(secret)
        .unwrap()
}

#[test]
fn add_list_revoke() {
    let db = Db::new();
    let form = add(&db, " form bot ", "intake");
    let wall = add(&db, "wall", "viewer");
    assert_ne!(form, wall);
    // The printed secrets are the ones the store knows.
    let found = authenticate(&db, &form).expect("form's secret works");
    assert_eq!(
        (found.name.as_str(), found.role),
        ("form bot", Role::Intake)
    );
    assert_eq!(found.created_by, "tester");
    assert_eq!(authenticate(&db, &wall).unwrap().role, Role::Viewer);

    let table = db.ok(&["token", "list"]);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0],
        ["name", "role", "created", "created_by", "last_used"]
    );
    assert_eq!(rows.len(), 3, "{table}");
    assert_eq!(rows[1][..3], ["form", "bot", "intake"]);
    assert_eq!(rows[1][5..], ["tester", "—"]);
    assert_eq!(rows[2][..2], ["wall", "viewer"]);

    // Revoking is by name in any case; the secret stops working, the other does not.
    assert_eq!(
        db.ok(&["token", "revoke", "FORM BOT"]).trim(),
        "token 'FORM BOT' revoked"
    );
    assert_eq!(authenticate(&db, &form), None);
    assert!(authenticate(&db, &wall).is_some());
    let names: Vec<Value> = array(db.json(&["token", "list"]))
        .into_iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, ["wall"]);
    // The name is free again.
    let again = add(&db, "form bot", "supervisor");
    assert_eq!(authenticate(&db, &again).unwrap().role, Role::Supervisor);

    // Both changes are in the audit log, under the actor.
    let actions: Vec<String> = array(db.json(&["audit", "--filter", "token"]))
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["actor"].as_str().unwrap(),
                e["action"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            "tester token.create",
            "tester token.revoke",
            "tester token.create",
            "tester token.create"
        ]
    );
}

#[test]
fn json_output() {
    let db = Db::new();
    let added = db.json(&["token", "add", "wall", "--role", "viewer"]);
    let mut keys: Vec<&String> = added.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["name", "role", "token"]);
    assert_eq!(added["name"], "wall");
    assert_eq!(added["role"], "viewer");
    let secret = added["token"].as_str().unwrap();
    assert!(looks_like_a_secret(secret), "{secret}");
    assert_eq!(authenticate(&db, secret).unwrap().name, "wall");

    let list = array(db.json(&["token", "list"]));
    assert_eq!(list.len(), 1);
    let t = list[0].as_object().unwrap();
    let mut keys: Vec<&String> = t.keys().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["created_at", "created_by", "last_used_at", "name", "role"]
    );
    assert_eq!(t["role"], "viewer");
    assert_eq!(t["created_by"], "tester");
    assert_eq!(t["last_used_at"], Value::Null);
    assert!(t["created_at"].as_str().unwrap().ends_with('Z'));

    let revoked = db.json(&["token", "revoke", "wall"]);
    assert_eq!(
        revoked,
        serde_json::json!({"name": "wall", "revoked": true})
    );
    assert_eq!(db.json(&["token", "list"]), serde_json::json!([]));
}

/// Neither listing shows a secret, nor the hash stored for it.
#[test]
fn listings_never_show_secrets_or_hashes() {
    let db = Db::new();
    let secret = add(&db, "wall", "viewer");
    let body = &secret["sb_".len()..];
    let hash: Vec<u8> = db
        .conn()
        .query_row("SELECT hash FROM api_token", [], |r| r.get(0))
        .unwrap();
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    for args in [
        vec!["token", "list"],
        vec!["--json", "token", "list"],
        vec!["--json", "audit"],
    ] {
        let out = db.ok(&args);
        for needle in [body, &hex, &hex.to_uppercase()] {
            assert!(!out.contains(needle), "{args:?} shows {needle}: {out}");
        }
    }
}

#[test]
fn a_bad_role_is_a_usage_error() {
    let db = Db::new();
    for (args, words) in [
        (
            vec!["token", "add", "x", "--role", "admin"],
            "unknown role 'admin': expected intake, viewer or supervisor",
        ),
        (vec!["token", "add", "x"], "--role"),
    ] {
        let (code, line) = db.fail(&args);
        assert_eq!(code, 2, "{args:?}: {line}");
        assert!(line.contains(words), "{args:?}: {line}");
    }
    let (code, line) = db.fail(&["token", "add", "x", "--role", "ad\u{1b}[2Jmin"]);
    assert_eq!(code, 2);
    assert!(!line.contains('\u{1b}'), "{line:?}");
    assert!(!common::file_exists(&db.path), "nothing was opened");
}

#[test]
fn store_errors_are_one_line() {
    let db = Db::new();
    add(&db, "Form", "intake");
    let (code, line) = db.fail(&["token", "add", "FORM", "--role", "viewer"]);
    assert_eq!(code, 1);
    assert_eq!(line, "error: a token named 'FORM' already exists");
    let (code, line) = db.fail(&["token", "revoke", "ghost"]);
    assert_eq!(code, 1);
    assert_eq!(line, "error: token 'ghost' not found");
    let (_, line) = db.fail(&["token", "revoke", "gh\u{1b}[2Jost"]);
    assert_eq!(line, "error: token 'gh\\e[2Jost' not found");
    let (code, line) = db.fail(&["token", "add", " ", "--role", "viewer"]);
    assert_eq!(code, 1);
    assert_eq!(line, "error: token name must not be empty");
    let (_, line) = db.fail(&["token", "add", "a\u{7}b", "--role", "viewer"]);
    assert_eq!(
        line,
        "error: token name contains a control character (U+0007 at position 2)"
    );
    assert_eq!(array(db.json(&["token", "list"])).len(), 1);
}

/// A file left at schema version 3 by an older build is brought to version 4 when it
/// is opened: its sources are kept (without a code) and tokens work.
#[test]
fn a_version_3_file_is_migrated() {
    let db = Db::new();
    create_at_schema_version(&db.path, 3).unwrap();
    db.conn()
        .execute_batch("INSERT INTO source (name, created_at) VALUES ('web', 0);")
        .unwrap();
    let version = |db: &Db| -> i64 {
        db.conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(version(&db), 3);
    assert_eq!(db.json(&["token", "list"]), serde_json::json!([]));
    assert_eq!(version(&db), 4);
    assert_eq!(latest_version(), 4);
    let sources = array(db.json(&["source", "list"]));
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0]["name"], "web");
    assert_eq!(sources[0]["code"], Value::Null);
    let secret = add(&db, "wall", "viewer");
    assert_eq!(authenticate(&db, &secret).unwrap().name, "wall");
}
