//! The headless CLI through the real binary, each test on its own temporary file.

mod common;

use std::collections::BTreeSet;

use common::{Db, array, assert_one_error_line, assert_success, json_lines, stderr, stdout};
use serde_json::{Value, json};
use switchboard::store::latest_version;

/// Cells of the table row whose second column is `name`.
fn row<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cells| cells.get(1) == Some(&name))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{table}"))
}

fn ids(contacts: &[Value]) -> Vec<i64> {
    contacts.iter().map(|c| c["id"].as_i64().unwrap()).collect()
}

/// One source `web` and one operator `ann` (max_load `max`) taking its traffic.
fn one_operator(max: u32) -> Db {
    let db = Db::new();
    db.ok(&["source", "add", "web"]);
    db.ok(&["operator", "add", "ann", "--max-load", &max.to_string()]);
    db.ok(&["weight", "set", "ann", "web", "1"]);
    db
}

#[test]
fn init_twice_is_fine() {
    let db = Db::new();
    let first = db.ok(&["init"]);
    assert_eq!(
        first.trim(),
        format!(
            "{} is ready (schema version {})",
            db.path.display(),
            latest_version()
        )
    );
    let second = db.json(&["init"]);
    assert_eq!(second["schema_version"], latest_version());
    assert_eq!(second["path"], db.path.display().to_string());
    let version: i64 = db
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, latest_version());
    // The file works after both.
    db.ok(&["operator", "add", "ann"]);
    assert_eq!(db.operators().len(), 1);
}

#[test]
fn db_path_comes_from_flag_then_env_then_cwd() {
    let db = Db::new();
    let env_path = db.dir.path().join("from-env.db");
    let out = common::bare_cmd()
        .env("SWITCHBOARD_DB", &env_path)
        .args(["operator", "add", "viaenv"])
        .output()
        .unwrap();
    assert_success(&out, &"operator add via env");
    assert!(common::file_exists(&env_path));
    let cwd = db.dir.path().join("cwd");
    std::fs::create_dir(&cwd).unwrap();
    let out = common::bare_cmd()
        .current_dir(&cwd)
        .args(["source", "add", "here"])
        .output()
        .unwrap();
    assert_success(&out, &"source add in cwd");
    assert!(common::file_exists(&cwd.join("switchboard.db")));
    // --db wins over the environment.
    let out = common::bare_cmd()
        .env("SWITCHBOARD_DB", &env_path)
        .arg("--db")
        .arg(&db.path)
        .args(["--json", "operator", "list"])
        .output()
        .unwrap();
    assert_success(&out, &"operator list --db");
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        json!([])
    );
}

#[test]
fn a_bad_variable_is_named_before_the_file_is_touched() {
    let db = Db::new();
    for (var, value, message) in [
        (
            "SWITCHBOARD_SEED",
            "x",
            "error: SWITCHBOARD_SEED='x' is not a whole number",
        ),
        (
            "SWITCHBOARD_SYNCHRONOUS",
            "off",
            "error: SWITCHBOARD_SYNCHRONOUS='off': expected FULL or NORMAL",
        ),
    ] {
        let out = db
            .cmd(&["operator", "add", "ann"])
            .env(var, value)
            .output()
            .unwrap();
        assert_eq!(assert_one_error_line(&out, &var), message);
        assert_eq!(out.status.code(), Some(1));
    }
    assert!(!common::file_exists(&db.path), "nothing was created");
}

#[test]
fn the_actor_is_user_else_username_else_supervisor() {
    let db = Db::new();
    let add = |name: &str, user: Option<&str>, username: Option<&str>| {
        let mut cmd = db.cmd(&["operator", "add", name]);
        cmd.env_remove("USER").env_remove("USERNAME");
        if let Some(u) = user {
            cmd.env("USER", u);
        }
        if let Some(u) = username {
            cmd.env("USERNAME", u);
        }
        assert_success(&cmd.output().unwrap(), &name);
    };
    add("a", Some("uma"), Some("una"));
    add("b", None, Some("una"));
    add("c", None, None);
    // A $USER that is no actor name is not used.
    add("d", Some("auto"), Some("una"));
    let log = array(db.json(&["audit"]));
    let actors: Vec<&str> = log.iter().map(|e| e["actor"].as_str().unwrap()).collect();
    // Newest first.
    assert_eq!(actors, ["supervisor", "supervisor", "una", "uma"]);
}

#[test]
fn operators_add_set_list_human_and_json() {
    let db = Db::new();
    assert_eq!(
        db.ok(&["operator", "add", "ann", "--max-load", "3"]).trim(),
        "operator #1 'ann' added: active, load 0/3"
    );
    let bob = db.json(&["operator", "add", "bob", "--inactive"]);
    assert_eq!(bob["id"], 2);
    assert_eq!(bob["name"], "bob");
    assert_eq!(bob["active"], false);
    assert_eq!(bob["max_load"], 5, "default max_load");
    assert_eq!(bob["load"], 0);

    let table = db.ok(&["operator", "list"]);
    assert_eq!(row(&table, "ann"), ["1", "ann", "yes", "0", "3", "0", "0"]);
    assert_eq!(row(&table, "bob"), ["2", "bob", "no", "0", "5", "0", "0"]);

    let set = db.json(&[
        "operator",
        "set",
        "bob",
        "--max-load",
        "7",
        "--active",
        "true",
        "--rename",
        "robert",
    ]);
    assert_eq!(set["name"], "robert");
    assert_eq!(set["active"], true);
    assert_eq!(set["max_load"], 7);
    // By id, human output.
    assert_eq!(
        db.ok(&["operator", "set", "1", "--active", "false"]).trim(),
        "operator #1 'ann' updated: inactive, load 0/3"
    );

    let list = db.operators();
    let brief: Vec<(String, bool, u64)> = list
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().to_string(),
                o["active"].as_bool().unwrap(),
                o["max_load"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            ("ann".to_string(), false, 3),
            ("robert".to_string(), true, 7)
        ]
    );
    assert!(list.iter().all(|o| o["load"] == 0));

    // A duplicate name is refused and nothing changes.
    let (_, line) = db.fail(&["operator", "add", "robert"]);
    assert!(line.contains("already exists"), "{line}");
    assert_eq!(db.operators().len(), 2);
}

#[test]
fn sources_add_set_list_human_and_json() {
    let db = Db::new();
    assert_eq!(
        db.ok(&[
            "source",
            "add",
            "web",
            "--description",
            "Web form",
            "--strategy",
            "capacity"
        ])
        .trim(),
        "source #1 'web' added (capacity)"
    );
    let tg = db.json(&["source", "add", "tg"]);
    assert_eq!(tg["name"], "tg");
    assert_eq!(tg["strategy"], "weighted", "default strategy");
    assert_eq!(tg["description"], "");

    let table = db.ok(&["source", "list"]);
    assert_eq!(
        row(&table, "web"),
        ["1", "web", "capacity", "0", "0", "0", "Web", "form"]
    );
    assert_eq!(row(&table, "tg"), ["2", "tg", "weighted", "0", "0", "0"]);

    let set = db.json(&[
        "source",
        "set",
        "tg",
        "--strategy",
        "capacity",
        "--rename",
        "telegram",
        "--description",
        "Bot",
    ]);
    assert_eq!(set["name"], "telegram");
    assert_eq!(set["strategy"], "capacity");
    assert_eq!(set["description"], "Bot");

    let list = array(db.json(&["source", "list"]));
    let brief: Vec<(&str, &str, &str)> = list
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap(),
                s["strategy"].as_str().unwrap(),
                s["description"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            ("telegram", "capacity", "Bot"),
            ("web", "capacity", "Web form")
        ]
    );
}

#[test]
fn weights_set_list_human_and_json() {
    let db = Db::new();
    db.ok(&["operator", "add", "ann"]);
    db.ok(&["operator", "add", "bob"]);
    db.ok(&["source", "add", "web"]);
    db.ok(&["source", "add", "tg"]);
    assert_eq!(
        db.ok(&["weight", "set", "ann", "web", "3"]).trim(),
        "weight ann x web = 3"
    );
    let w = db.json(&["weight", "set", "bob", "web", "1"]);
    assert_eq!(
        (&w["operator"], &w["source"], &w["weight"]),
        (&json!("bob"), &json!("web"), &json!(1))
    );
    db.ok(&["weight", "set", "bob", "tg", "2"]);
    // Changing a weight replaces it; 0 removes the row.
    db.ok(&["weight", "set", "ann", "web", "4"]);
    db.ok(&["weight", "set", "bob", "web", "0"]);

    let list = array(db.json(&["weight", "list"]));
    let cells: Vec<(&str, &str, u64)> = list
        .iter()
        .map(|w| {
            (
                w["source"].as_str().unwrap(),
                w["operator"].as_str().unwrap(),
                w["weight"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(cells, [("tg", "bob", 2), ("web", "ann", 4)]);

    let table = db.ok(&["weight", "list"]);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        [
            vec!["source", "operator", "weight"],
            vec!["tg", "bob", "2"],
            vec!["web", "ann", "4"]
        ]
    );
    // The operator list counts the sources each operator takes.
    assert_eq!(db.operator("ann")["sources"], 1);
    assert_eq!(db.operator("bob")["sources"], 1);
}

#[test]
fn contact_add_is_routed_or_waits() {
    let db = one_operator(1);
    assert_eq!(
        db.ok(&["contact", "add", "--source", "web", "--email", "a@x.io"])
            .trim(),
        "contact #1 added: active (operator ann)"
    );
    assert_eq!(
        db.ok(&["contact", "add", "--source", "web", "--email", "b@x.io"])
            .trim(),
        "contact #2 added: waiting"
    );
    let c = db.add_contact("web", "c@x.io");
    assert_eq!(c["id"], 3);
    assert_eq!(c["status"], "waiting");
    assert_eq!(c["operator"], Value::Null);
    assert_eq!(c["duplicate"], false);
    let first = db.contact(1);
    assert_eq!(first["status"], "active");
    assert_eq!(first["operator"], "ann");
    assert_eq!(first["assigned_by"], "auto");
    assert_eq!(first["source"], "web");
    assert_eq!(db.operator("ann")["load"], 1);
    let waiting = array(db.json(&["contact", "list", "--status", "waiting"]));
    assert_eq!(ids(&waiting), [3, 2], "newest first");
}

#[test]
fn load_limits_are_respected() {
    let db = Db::new();
    db.ok(&["source", "add", "web"]);
    db.ok(&["operator", "add", "ann", "--max-load", "2"]);
    db.ok(&["operator", "add", "bob", "--max-load", "1"]);
    db.ok(&["operator", "add", "cid", "--max-load", "4", "--inactive"]);
    for op in ["ann", "bob", "cid"] {
        db.ok(&["weight", "set", op, "web", "5"]);
    }
    for i in 0..6 {
        db.add_contact("web", &format!("p{i}@x.io"));
    }
    let loads: Vec<(String, u64)> = db
        .operators()
        .iter()
        .map(|o| {
            (
                o["name"].as_str().unwrap().into(),
                o["load"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        loads,
        [("ann".into(), 2), ("bob".into(), 1), ("cid".into(), 0)]
    );
    let cs = db.contacts();
    assert_eq!(
        cs.iter().filter(|c| c["status"] == "active").count(),
        3,
        "{cs:?}"
    );
    assert_eq!(
        ids(&array(db.json(&["contact", "list", "--status", "waiting"]))),
        [6, 5, 4]
    );
    assert_eq!(
        array(db.json(&["contact", "list", "--operator", "ann"])).len(),
        2
    );
}

#[test]
fn close_frees_a_slot_and_drains_the_oldest_waiting_contact_at_once() {
    let db = one_operator(1);
    db.ok(&["source", "add", "other"]);
    db.add_contact("web", "a@x.io"); // 1 active
    db.add_contact("other", "b@x.io"); // 2 waiting, ann takes no traffic from `other`
    db.add_contact("web", "c@x.io"); // 3 waiting
    db.add_contact("web", "d@x.io"); // 4 waiting
    let closed = db.json(&["contact", "close", "1"]);
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string());
    // No drain command in between: the close itself routed #3.
    let cs = db.contacts();
    let state: Vec<(i64, &str, Option<&str>)> = cs
        .iter()
        .map(|c| {
            (
                c["id"].as_i64().unwrap(),
                c["status"].as_str().unwrap(),
                c["operator"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        state,
        [
            (1, "closed", Some("ann")),
            (2, "waiting", None),
            (3, "active", Some("ann")),
            (4, "waiting", None),
        ]
    );
    assert_eq!(db.operator("ann")["load"], 1);
    // Closing a waiting contact frees nothing.
    assert_eq!(db.json(&["contact", "close", "4"])["status"], "closed");
    assert_eq!(db.contact(2)["status"], "waiting");
    let (_, line) = db.fail(&["contact", "close", "4"]);
    assert!(line.contains("already closed"), "{line}");
}

#[test]
fn reopen_restores_a_closed_contact() {
    let db = one_operator(2);
    db.add_contact("web", "a@x.io");
    assert_eq!(db.json(&["contact", "close", "1"])["status"], "closed");
    assert_eq!(db.operator("ann")["load"], 0);
    assert_eq!(
        db.ok(&["contact", "reopen", "1"]).trim(),
        "contact #1 reopened: active (operator ann)"
    );
    let c = db.contact(1);
    assert_eq!(c["status"], "active");
    assert_eq!(c["closed_at"], Value::Null);
    assert_eq!(db.operator("ann")["load"], 1);
    let (_, line) = db.fail(&["contact", "reopen", "1"]);
    assert!(line.contains("not closed"), "{line}");

    // A contact closed while waiting comes back waiting, and is routed if it can be.
    db.ok(&["source", "add", "tg"]);
    let w = db.add_contact("tg", "b@x.io");
    assert_eq!(w["status"], "waiting");
    db.ok(&["contact", "close", "2"]);
    let back = db.json(&["contact", "reopen", "2"]);
    assert_eq!(back["status"], "waiting");
    assert_eq!(back["operator"], Value::Null);
    db.ok(&["contact", "close", "2"]);
    db.ok(&["weight", "set", "ann", "tg", "1"]);
    let routed = db.json(&["contact", "reopen", "2"]);
    assert_eq!(routed["status"], "active");
    assert_eq!(routed["operator"], "ann");
}

#[test]
fn reopen_does_not_push_an_operator_past_max_load() {
    let db = one_operator(1);
    db.add_contact("web", "a@x.io"); // 1 active ann
    db.ok(&["contact", "close", "1"]);
    db.add_contact("web", "b@x.io"); // 2 active ann: full again
    let reopened = db.json(&["contact", "reopen", "1"]);
    assert_eq!(
        reopened["status"], "waiting",
        "full operator: the contact waits"
    );
    assert_eq!(reopened["operator"], serde_json::Value::Null);
    let ann = db.operator("ann");
    assert!(
        ann["load"].as_u64() <= ann["max_load"].as_u64(),
        "reopen overfilled ann: {ann}"
    );
    // When ann's slot frees, the reopened contact is drained to her.
    db.ok(&["contact", "close", "2"]);
    assert_eq!(db.contact(1)["status"], "active");
}

#[test]
fn assign_a_waiting_contact() {
    let db = Db::new();
    db.ok(&["source", "add", "web"]);
    db.ok(&["operator", "add", "ann"]);
    let c = db.add_contact("web", "a@x.io");
    assert_eq!(c["status"], "waiting", "nobody has a weight for web");
    let out = db.ok(&["--actor", "sam", "contact", "assign", "1", "ann"]);
    assert_eq!(out.trim(), "contact #1 assigned: active (operator ann)");
    let c = db.contact(1);
    assert_eq!(c["status"], "active");
    assert_eq!(c["operator"], "ann");
    assert_eq!(c["assigned_by"], "sam");
    assert_eq!(db.operator("ann")["load"], 1);
}

#[test]
fn assign_to_a_full_or_inactive_operator_needs_force() {
    let db = one_operator(1);
    db.ok(&["operator", "add", "bob", "--inactive"]);
    db.add_contact("web", "a@x.io"); // 1 -> ann, now full
    db.add_contact("web", "b@x.io"); // 2 waiting
    db.add_contact("web", "c@x.io"); // 3 waiting

    let (code, line) = db.fail(&["contact", "assign", "2", "ann"]);
    assert_eq!(code, 1);
    assert!(line.contains("full"), "{line}");
    let (_, line) = db.fail(&["contact", "assign", "3", "bob"]);
    assert!(line.contains("inactive"), "{line}");
    assert_eq!(db.contact(2)["status"], "waiting");
    assert_eq!(db.contact(3)["status"], "waiting");
    assert_eq!(db.operator("ann")["load"], 1);
    assert_eq!(db.operator("bob")["load"], 0);

    let forced = db.json(&["contact", "assign", "2", "ann", "--force"]);
    assert_eq!(forced["operator"], "ann");
    assert_eq!(forced["status"], "active");
    let forced = db.json(&["contact", "assign", "3", "bob", "--force"]);
    assert_eq!(forced["operator"], "bob");
    assert_eq!(db.operator("ann")["load"], 2, "forced past max_load 1");
    assert_eq!(db.operator("bob")["load"], 1);
}

#[test]
fn assigning_an_assigned_contact_names_its_operator() {
    let db = one_operator(3);
    db.ok(&["operator", "add", "bob"]);
    db.add_contact("web", "a@x.io"); // -> ann (only ann has a weight)
    let (code, line) = db.fail(&["contact", "assign", "1", "bob"]);
    assert_ne!(code, 0);
    assert!(line.contains("already assigned to ann"), "{line}");
    assert_eq!(db.contact(1)["operator"], "ann");
    // --reassign moves it.
    let moved = db.json(&["contact", "assign", "1", "bob", "--reassign"]);
    assert_eq!(moved["operator"], "bob");
    assert_eq!(db.operator("ann")["load"], 0);
    assert_eq!(db.operator("bob")["load"], 1);
}

#[test]
fn a_closed_contact_cannot_be_assigned() {
    let db = one_operator(3);
    db.add_contact("web", "a@x.io");
    db.ok(&["contact", "close", "1"]);
    for args in [
        &["contact", "assign", "1", "ann"][..],
        &["contact", "assign", "1", "ann", "--force", "--reassign"],
    ] {
        let (_, line) = db.fail(args);
        assert!(line.contains("closed"), "{line}");
    }
    assert_eq!(db.contact(1)["status"], "closed");
    assert_eq!(db.operator("ann")["load"], 0);
}

#[test]
fn idempotency_key_returns_the_original_and_creates_nothing() {
    let db = one_operator(5);
    let first = db.json(&[
        "contact",
        "add",
        "--source",
        "web",
        "--email",
        "a@x.io",
        "--message",
        "first",
        "--idempotency-key",
        "k-1",
    ]);
    assert_eq!(first["duplicate"], false);
    assert_eq!(first["idempotency_key"], "k-1");
    let again = db.json(&[
        "contact",
        "add",
        "--source",
        "web",
        "--email",
        "someone-else@x.io",
        "--message",
        "second",
        "--idempotency-key",
        "k-1",
    ]);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["message"], "first");
    let human = db.ok(&[
        "contact",
        "add",
        "--source",
        "web",
        "--phone",
        "12345",
        "--idempotency-key",
        "k-1",
    ]);
    assert!(human.contains("already exists"), "{human}");
    assert_eq!(db.contacts().len(), 1);
    assert_eq!(array(db.json(&["lead", "list"])).len(), 1, "no new lead");
    assert_eq!(db.operator("ann")["load"], 1);
}

/// Lines for ingest: good ones and every kind of bad one, with what each must give.
fn mixed_ingest_input() -> (Vec<u8>, Vec<Option<&'static str>>) {
    let long = "m".repeat(5000);
    let mut input = Vec::new();
    let mut expect = Vec::new();
    let mut line = |bytes: &[u8], e: Option<&'static str>| {
        input.extend_from_slice(bytes);
        input.push(b'\n');
        expect.push(e);
    };
    line(br#"{"source":"web","email":"one@x.io","name":"One"}"#, None);
    line(b"this is not json", Some("invalid JSON"));
    line(br#"{"source":"web","phone":"+1 555 0100"}"#, None);
    line(
        br#"{"source":"nope","email":"a@x.io"}"#,
        Some("source 'nope' not found"),
    );
    line(
        br#"{"source":"web","name":"Nobody"}"#,
        Some("at least one of external_id, phone or email"),
    );
    line(
        format!(r#"{{"source":"web","email":"long@x.io","message":"{long}"}}"#).as_bytes(),
        Some("message is longer than 4000"),
    );
    line(
        b"{\"source\":\"web\",\"email\":\"bad\xff\xfe@x.io\"}",
        Some("UTF-8"),
    );
    line(
        br#"{"source":"web","email":"f@x.io","favourite_colour":"red"}"#,
        Some("unknown field `favourite_colour`"),
    );
    line(br#"{"source":1,"external_id":"tg-9"}"#, None);
    (input, expect)
}

fn check_mixed_ingest(db: &Db, out: &std::process::Output) {
    let (_, expect) = mixed_ingest_input();
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(out));
    common::assert_no_panic(&stderr(out));
    let lines = json_lines(out);
    assert_eq!(lines.len(), expect.len(), "one output line per input line");
    let mut stored = Vec::new();
    for (i, (v, e)) in lines.iter().zip(&expect).enumerate() {
        assert_eq!(v["line"], i as u64 + 1, "{v}");
        match e {
            None => {
                assert!(v.get("error").is_none(), "line {}: {v}", i + 1);
                stored.push(v["id"].as_i64().expect("id"));
            }
            Some(msg) => {
                let err = v["error"].as_str().unwrap_or_else(|| panic!("{v}"));
                assert!(err.contains(msg), "line {}: {err:?} lacks {msg:?}", i + 1);
                assert!(v.get("id").is_none());
            }
        }
    }
    assert_eq!(stored, [1, 2, 3]);
    assert!(
        stderr(out).contains("3 accepted, 6 rejected"),
        "{}",
        stderr(out)
    );
    let cs = db.contacts();
    assert_eq!(ids(&cs), [1, 2, 3], "the good lines, and only they, stored");
    assert_eq!(cs[0]["lead"], "One");
    assert_eq!(cs[2]["lead"], "tg-9");
}

#[test]
fn ingest_reports_each_bad_line_and_stores_the_rest_from_a_file() {
    let db = one_operator(10);
    let (input, _) = mixed_ingest_input();
    let file = db.dir.path().join("in.jsonl");
    std::fs::write(&file, &input).unwrap();
    let out = db
        .cmd(&["ingest", file.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    check_mixed_ingest(&db, &out);
}

#[test]
fn ingest_reads_stdin_with_no_file_or_dash() {
    let (input, _) = mixed_ingest_input();
    let db = one_operator(10);
    let out = db.ingest_stdin(&[], &input);
    check_mixed_ingest(&db, &out);
    let db = one_operator(10);
    let out = db.ingest_stdin(&["-"], &input);
    check_mixed_ingest(&db, &out);
}

#[test]
fn ingest_of_good_lines_exits_zero_and_routes() {
    let db = one_operator(2);
    let input = (0..5)
        .map(|i| format!(r#"{{"source":"web","email":"p{i}@x.io","idempotency_key":"k{i}"}}"#))
        .chain([r#"{"source":"web","email":"p0@x.io","idempotency_key":"k0"}"#.to_string()])
        .collect::<Vec<_>>()
        .join("\n");
    let out = db.ingest_stdin(&[], input.as_bytes());
    assert_success(&out, &"ingest");
    let lines = json_lines(&out);
    let got: Vec<(i64, &str, bool)> = lines
        .iter()
        .map(|v| {
            (
                v["id"].as_i64().unwrap(),
                v["status"].as_str().unwrap(),
                v["duplicate"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (1, "active", false),
            (2, "active", false),
            (3, "waiting", false),
            (4, "waiting", false),
            (5, "waiting", false),
            (1, "active", true),
        ]
    );
    assert_eq!(db.contacts().len(), 5);
}

#[test]
fn ingest_skips_an_overlong_line_and_goes_on() {
    let db = one_operator(5);
    let huge = format!(
        r#"{{"source":"web","email":"big@x.io","name":"{}"}}"#,
        "n".repeat(70 * 1024)
    );
    let input = format!("{huge}\n{}\n", r#"{"source":"web","email":"small@x.io"}"#);
    let out = db.ingest_stdin(&[], input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["line"], 1);
    assert!(
        lines[0]["error"].as_str().unwrap().contains("longer than"),
        "{}",
        lines[0]
    );
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["id"], 1);
    assert_eq!(db.contacts().len(), 1);
}

#[test]
fn ingest_from_a_pipe_acknowledges_each_line_before_the_input_ends() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::sync::mpsc;
    use std::time::Duration;

    let db = one_operator(5);
    let mut child = db
        .cmd(&["ingest"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let pump = std::thread::spawn(move || {
        for line in reader.lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    for i in 1..=3 {
        writeln!(input, r#"{{"source":"web","email":"t{i}@x.io"}}"#).unwrap();
        input.flush().unwrap();
        let ack = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("line {i} not acknowledged while the pipe is open"));
        let v: Value = serde_json::from_str(&ack).unwrap();
        assert_eq!(v["line"], i);
        assert_eq!(v["id"], i);
        // Acknowledged means committed: another process sees it.
        assert_eq!(db.contacts().len(), i as usize);
    }
    drop(input);
    let status = child.wait().unwrap();
    pump.join().unwrap();
    assert!(status.success());
}

#[test]
fn missing_ingest_file_is_one_error_line() {
    let db = one_operator(1);
    let (_, line) = db.fail(&["ingest", "/definitely/not/here.jsonl"]);
    assert!(line.contains("/definitely/not/here.jsonl"), "{line}");
}

#[test]
fn stats_json_reports_configured_and_actual_shares() {
    let db = Db::new();
    db.ok(&["source", "add", "web"]);
    db.ok(&["source", "add", "tg"]);
    db.ok(&["operator", "add", "ann", "--max-load", "100"]);
    db.ok(&["operator", "add", "bob", "--max-load", "100"]);
    db.ok(&["weight", "set", "ann", "web", "1"]);
    db.ok(&["weight", "set", "bob", "web", "3"]);
    let input: String = (0..40)
        .map(|i| format!("{{\"source\":\"web\",\"email\":\"w{i}@x.io\"}}\n"))
        .chain((0..3).map(|i| format!("{{\"source\":\"tg\",\"email\":\"t{i}@x.io\"}}\n")))
        .collect();
    assert_success(&db.ingest_stdin(&[], input.as_bytes()), &"ingest");
    let web_contacts: Vec<Value> = db
        .contacts()
        .into_iter()
        .filter(|c| c["source"] == "web")
        .collect();
    let ann = web_contacts
        .iter()
        .filter(|c| c["operator"] == "ann")
        .count() as u64;
    let bob = web_contacts
        .iter()
        .filter(|c| c["operator"] == "bob")
        .count() as u64;
    assert_eq!(ann + bob, 40);
    assert!(ann > 0 && bob > 0, "both got some with weights 1:3");

    let stats = array(db.json(&["stats"]));
    assert_eq!(stats.len(), 2);
    let tg = stats.iter().find(|s| s["source"] == "tg").unwrap();
    assert_eq!(
        (&tg["total"], &tg["routed"], &tg["waiting"]),
        (&json!(3), &json!(0), &json!(3))
    );
    assert_eq!(tg["operators"], json!([]));
    let web = stats.iter().find(|s| s["source"] == "web").unwrap();
    assert_eq!(
        (&web["total"], &web["routed"], &web["waiting"]),
        (&json!(40), &json!(40), &json!(0))
    );
    assert_eq!(web["strategy"], "weighted");
    let ops = web["operators"].as_array().unwrap();
    assert_eq!(ops.len(), 2);
    for (name, weight, configured, count) in [("ann", 1, 0.25, ann), ("bob", 3, 0.75, bob)] {
        let o = ops.iter().find(|o| o["operator"] == name).unwrap();
        assert_eq!(o["weight"], weight);
        assert!((o["configured_share"].as_f64().unwrap() - configured).abs() < 1e-9);
        assert_eq!(o["count"], count);
        let actual = o["actual_share"].as_f64().unwrap();
        assert!((actual - count as f64 / 40.0).abs() < 1e-9, "{o}");
    }
    // Human output states the same numbers.
    let human = db.ok(&["stats"]);
    assert!(
        human.contains("web (weighted): 40 contacts, 40 routed, 0 waiting"),
        "{human}"
    );
    assert!(
        human.contains("25.0%") && human.contains("75.0%"),
        "{human}"
    );
}

#[test]
fn lead_list_groups_the_contacts_of_one_lead() {
    let db = Db::new();
    db.ok(&["source", "add", "web"]);
    db.ok(&["source", "add", "tg"]);
    db.ok(&[
        "contact",
        "add",
        "--source",
        "web",
        "--phone",
        "+7 (900) 111-22-33",
        "--name",
        "Ann",
    ]);
    db.ok(&["contact", "add", "--source", "web", "--email", "other@x.io"]);
    db.ok(&[
        "contact",
        "add",
        "--source",
        "tg",
        "--phone",
        "+79001112233",
        "--email",
        "Ann@X.io",
    ]);
    db.ok(&["contact", "add", "--source", "tg", "--email", " ann@x.io "]);
    let leads = array(db.json(&["lead", "list"]));
    assert_eq!(leads.len(), 2);
    let ann = leads.iter().find(|l| l["name"] == "Ann").unwrap();
    assert_eq!(ann["phone"], "+79001112233");
    assert_eq!(
        ann["email"], "ann@x.io",
        "filled in from the second contact"
    );
    assert_eq!(ids(ann["contacts"].as_array().unwrap()), [4, 3, 1]);
    let sources: BTreeSet<&str> = ann["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources, BTreeSet::from(["tg", "web"]));
    let other = leads.iter().find(|l| l["email"] == "other@x.io").unwrap();
    assert_eq!(ids(other["contacts"].as_array().unwrap()), [2]);
    let human = db.ok(&["lead", "list"]);
    assert!(
        human.contains("Ann (phone +79001112233, email ann@x.io), 3 contact(s)"),
        "{human}"
    );
}

#[test]
fn user_mistakes_give_one_error_line_and_change_nothing() {
    let db = one_operator(1);
    let cases: &[(&[&str], &str)] = &[
        (&["operator", "set", "nobody", "--max-load", "2"], "nobody"),
        (&["operator", "delete", "nobody"], "nobody"),
        (&["contact", "assign", "99", "ann"], "99"),
        (
            &["source", "add", "x", "--strategy", "roundrobin"],
            "roundrobin",
        ),
        (
            &["source", "set", "web", "--strategy", "fastest"],
            "fastest",
        ),
        (&["weight", "set", "ann", "web", "-3"], "-3"),
        (&["weight", "set", "ann", "web", "lots"], "lots"),
        (&["contact", "add", "--email", "a@x.io"], "--source"),
        (&["weight", "set", "ann", "nosuch", "2"], "nosuch"),
        (&["weight", "set", "nobody", "web", "2"], "nobody"),
        (&["contact", "add", "--source", "web"], "external_id"),
        (
            &[
                "contact",
                "add",
                "--source",
                "web",
                "--email",
                "not-an-email",
            ],
            "not-an-email",
        ),
        (&["contact", "list", "--status", "sleeping"], "sleeping"),
        (&["operator", "add", "12"], "digits"),
        (&["operator", "add", "x", "--max-load", "-1"], "-1"),
        (&["operator", "set", "ann"], "nothing to change"),
        (&["--actor", "auto", "operator", "list"], "auto"),
        (&["no-such-command"], "no-such-command"),
    ];
    for (args, needle) in cases {
        let (code, line) = db.fail(args);
        assert_ne!(code, 0, "{args:?}");
        assert!(line.contains(needle), "{args:?}: {line:?} lacks {needle:?}");
    }
    // Nothing was stored by any of them.
    assert_eq!(db.contacts().len(), 0);
    assert_eq!(db.operators().len(), 1);
    assert_eq!(array(db.json(&["source", "list"])).len(), 1);
    assert_eq!(db.operator("ann")["max_load"], 1);
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_untouched() {
    let db = Db::new();
    let text = "name,phone\nAnn,+79001112233\n".repeat(50);
    for content in [text.as_bytes(), b"hi".as_slice()] {
        std::fs::write(&db.path, content).unwrap();
        for args in [
            &["init"][..],
            &["operator", "add", "ann"],
            &["operator", "list"],
        ] {
            let (_, line) = db.fail(args);
            assert!(line.contains("not a SQLite database"), "{line}");
            assert!(line.contains("untouched"), "{line}");
        }
        assert_eq!(std::fs::read(&db.path).unwrap(), content);
        let mut names: Vec<String> = std::fs::read_dir(db.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["switchboard.db"], "no -wal or -shm created");
    }
}

#[test]
fn a_sqlite_file_of_another_program_is_refused_and_untouched() {
    let db = Db::new();
    {
        let c = rusqlite::Connection::open(&db.path).unwrap();
        c.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL); INSERT INTO invoices VALUES (1, 9.5);")
            .unwrap();
    }
    let before = std::fs::read(&db.path).unwrap();
    let (_, line) = db.fail(&["init"]);
    assert!(line.contains("invoices"), "{line}");
    assert_eq!(std::fs::read(&db.path).unwrap(), before);
}

#[test]
fn a_newer_schema_is_refused_and_untouched() {
    let db = Db::new();
    {
        let c = rusqlite::Connection::open(&db.path).unwrap();
        c.execute_batch(
            "CREATE TABLE operator (id INTEGER PRIMARY KEY, name TEXT, shiny_new_column TEXT);
             PRAGMA user_version = 99; PRAGMA application_id = 0x53574244;",
        )
        .unwrap();
    }
    let before = std::fs::read(&db.path).unwrap();
    for args in [
        &["init"][..],
        &["operator", "list"],
        &["operator", "add", "ann"],
    ] {
        let (_, line) = db.fail(args);
        assert!(line.contains("newer"), "{line}");
        assert!(line.contains("99"), "{line}");
    }
    assert_eq!(std::fs::read(&db.path).unwrap(), before);
    let version: i64 = rusqlite::Connection::open(&db.path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 99);
}

#[test]
fn demo_loads_into_an_empty_file_and_refuses_a_full_one() {
    let db = Db::new();
    let mut cmd = db.cmd(&["--json", "demo"]);
    cmd.env("SWITCHBOARD_SYNCHRONOUS", "NORMAL");
    let out = cmd.output().unwrap();
    assert_success(&out, &"demo");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["operators"], 8);
    assert_eq!(summary["sources"], 4);
    assert_eq!(summary["contacts"], 320);
    let parts = ["active", "waiting", "closed"].map(|k| summary[k].as_u64().unwrap());
    assert_eq!(parts.iter().sum::<u64>(), 320);
    let ops = db.operators();
    assert_eq!(ops.len(), 8);
    assert_eq!(ops.iter().filter(|o| o["active"] == false).count(), 1);
    let load: u64 = ops.iter().map(|o| o["load"].as_u64().unwrap()).sum();
    assert_eq!(load, parts[0]);
    assert_eq!(db.contacts().len(), 320);
    let violations = common::load_violations(&db.conn());
    assert!(violations.is_empty(), "{violations:?}");

    let (_, line) = db.fail(&["demo"]);
    assert!(line.contains("not empty"), "{line}");
    assert_eq!(db.contacts().len(), 320, "refused demo added nothing");

    // --force adds to a non-empty file.
    let other = Db::new();
    other.ok(&["operator", "add", "zed"]);
    other.fail(&["demo"]);
    let mut cmd = other.cmd(&["demo", "--force"]);
    cmd.env("SWITCHBOARD_SYNCHRONOUS", "NORMAL");
    let out = cmd.output().unwrap();
    assert_success(&out, &"demo --force");
    assert!(stdout(&out).starts_with("demo loaded: 8 operators, 4 sources, 320 contacts"));
    assert_eq!(other.operators().len(), 9);
}

#[test]
fn a_failed_demo_load_leaves_the_file_as_it_was() {
    let db = Db::new();
    // The third demo operator's name is taken.
    db.ok(&["operator", "add", "Chen Wei"]);
    let mut cmd = db.cmd(&["demo", "--force"]);
    cmd.env("SWITCHBOARD_SYNCHRONOUS", "NORMAL");
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
    if out.status.success() {
        // Merging into what is there would be fine too.
        assert_eq!(db.operators().len(), 8);
        assert_eq!(db.contacts().len(), 320);
    } else {
        assert_one_error_line(&out, &"demo --force");
        let names: Vec<Value> = db.operators().iter().map(|o| o["name"].clone()).collect();
        assert_eq!(
            names,
            [json!("Chen Wei")],
            "the failed load left operators behind"
        );
        assert_eq!(array(db.json(&["source", "list"])), Vec::<Value>::new());
    }
}

#[test]
fn audit_lists_who_changed_what() {
    let db = Db::new();
    db.ok(&[
        "--actor",
        "alice",
        "operator",
        "add",
        "ann",
        "--max-load",
        "2",
    ]);
    db.ok(&["--actor", "alice", "source", "add", "web"]);
    db.ok(&[
        "--actor",
        "bob",
        "operator",
        "set",
        "ann",
        "--max-load",
        "4",
    ]);
    db.ok(&["--actor", "bob", "weight", "set", "ann", "web", "2"]);
    db.ok(&["source", "add", "tg"]); // default actor: $USER
    db.add_contact("tg", "a@x.io");
    db.ok(&["--actor", "carol", "contact", "assign", "1", "ann"]);
    db.ok(&["--actor", "dave", "contact", "close", "1"]);

    let log = array(db.json(&["audit"]));
    let brief: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        brief,
        [
            ("dave", "contact.close"),
            ("carol", "contact.assign"),
            ("tester", "source.create"),
            ("bob", "weight.set"),
            ("bob", "operator.update"),
            ("alice", "source.create"),
            ("alice", "operator.create"),
        ],
        "newest first"
    );
    let update = &log[4];
    assert_eq!(update["entity"], "operator");
    assert_eq!(update["entity_id"], 1);
    assert_eq!(update["before"]["max_load"], 2);
    assert_eq!(update["after"]["max_load"], 4);
    let assign = &log[1];
    assert_eq!(assign["before"]["status"], "waiting");
    assert_eq!(assign["after"]["operator"], "ann");

    let human = db.ok(&["audit"]);
    let line = human
        .lines()
        .find(|l| l.contains("operator.update"))
        .unwrap();
    assert!(line.contains("bob"), "{line}");
    assert!(line.contains("max_load: 2 -> 4"), "{line}");
    let filtered = array(db.json(&["audit", "--filter", "carol"]));
    assert_eq!(filtered.len(), 1);
    assert_eq!(filtered[0]["action"], "contact.assign");
    // A contact by id, with or without '#': its entries, not operator #1's.
    for f in ["#1", "1"] {
        let by_id = array(db.json(&["audit", "--filter", f]));
        let actions: Vec<&str> = by_id
            .iter()
            .filter(|e| e["entity"] == "contact")
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["contact.close", "contact.assign"], "{f}");
    }
    let by_hash = array(db.json(&["audit", "--filter", "#1"]));
    assert!(
        by_hash.iter().all(|e| e["entity"] == "contact"),
        "{by_hash:?}"
    );
}

#[test]
fn operator_and_source_delete_rules() {
    let db = one_operator(2);
    db.ok(&["operator", "add", "bob"]);
    db.ok(&["source", "add", "empty"]);
    db.add_contact("web", "a@x.io");
    let (_, line) = db.fail(&["operator", "delete", "ann"]);
    assert!(line.contains("open contact"), "{line}");
    let (_, line) = db.fail(&["source", "delete", "web"]);
    assert!(line.contains("1 contact"), "{line}");
    assert_eq!(db.json(&["operator", "delete", "bob"])["name"], "bob");
    assert_eq!(db.json(&["source", "delete", "empty"])["name"], "empty");
    db.ok(&["contact", "close", "1"]);
    db.ok(&["operator", "delete", "ann"]);
    assert!(db.operators().is_empty());
    let c = db.contact(1);
    assert_eq!(c["status"], "closed");
    assert_eq!(c["operator"], Value::Null);
    assert_eq!(array(db.json(&["weight", "list"])), Vec::<Value>::new());
}

#[test]
fn a_closed_stdout_does_not_panic() {
    let db = one_operator(1);
    for i in 0..30 {
        db.add_contact("web", &format!("p{i}@x.io"));
    }
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // every write now fails with EPIPE
    let out = db
        .cmd(&["--json", "contact", "list"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    common::assert_no_panic(&stderr(&out));
}

#[test]
fn help_and_version_succeed() {
    let out = common::bare_cmd().arg("--help").output().unwrap();
    assert_success(&out, &"--help");
    let text = stdout(&out);
    for cmd in [
        "init", "operator", "source", "weight", "contact", "lead", "stats", "ingest", "audit",
        "demo", "simulate",
    ] {
        assert!(text.contains(cmd), "--help lacks {cmd}: {text}");
    }
    let out = common::bare_cmd().arg("--version").output().unwrap();
    assert_success(&out, &"--version");
    assert!(stdout(&out).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn simulate_goes_through_intake() {
    let db = one_operator(3);
    let out = db.run(&["--json", "simulate", "--count", "25", "--repeat", "0.3"]);
    assert_success(&out, &"simulate");
    let cs = db.contacts();
    assert_eq!(cs.len(), 25);
    assert_eq!(cs.iter().filter(|c| c["status"] == "active").count(), 3);
    assert_eq!(db.operator("ann")["load"], 3);
    let out = db.run(&["simulate", "--count", "1", "--source", "nope"]);
    let line = assert_one_error_line(&out, &"simulate unknown source");
    assert!(line.contains("nope"), "{line}");
}

#[test]
fn a_missing_folder_is_named_as_a_missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no-such-folder").join("crm.db");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--db")
        .arg(&db)
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the folder"), "{err}");
    assert!(err.contains("no-such-folder does not exist"), "{err}");
    assert!(!db.parent().unwrap().exists(), "nothing was created");
}

#[test]
fn blank_ingest_lines_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let bin = env!("CARGO_BIN_EXE_switchboard");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .arg("--db")
            .arg(&db)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&["source", "add", "web"]).status.success());
    let mut child = std::process::Command::new(bin)
        .arg("--db")
        .arg(&db)
        .arg("ingest")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\n{\"source\":\"web\",\"email\":\"a@b.c\"}\n   \n\r\n{\"source\":\"web\",\"email\":\"d@e.f\"}\n\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Two answers, numbered by their place in the input.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["line"], 2);
    assert_eq!(lines[1]["line"], 5);
    assert!(lines.iter().all(|l| l.get("error").is_none()), "{lines:?}");
}

#[test]
fn a_drain_that_routes_nothing_says_why() {
    let db = one_operator(1);
    let out = db.ok(&["contact", "drain"]);
    assert!(out.contains("0 routed: no contact is waiting"), "{out}");
    db.add_contact("web", "a@x.io");
    db.add_contact("web", "b@x.io");
    let out = db.ok(&["contact", "drain"]);
    assert!(
        out.contains("none of the 1 waiting contact(s) can be taken"),
        "{out}"
    );
    db.ok(&["contact", "close", "1"]);
    // Closing drained it already: nothing waits.
    let out = db.ok(&["contact", "drain"]);
    assert!(out.contains("no contact is waiting"), "{out}");
}
