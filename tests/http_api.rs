//! `switchboard serve` through real sockets on 127.0.0.1: every route of `/api/v1`,
//! bad input, tokens and roles, concurrent and racing clients, `serve` beside
//! `ingest` and CLI edits on one file, SIGTERM under load and with a stalled client,
//! and the OpenAPI document against the router. No request in this file may be answered 500 (the client asserts it on
//! every answer, and each server's log is checked when it stops).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::server::{Api, Server};
use common::{Db, array};
use reqwest::Method;
use serde_json::{Value, json};
use switchboard::domain::{EntityRef, Strategy};
use switchboard::store::{OpenOptions, Store};

/// The versioned API and the root of one server.
fn clients(server: &Server) -> (Api, Api) {
    (Api::at(&server.url("/api/v1")), Api::new(server))
}

/// Polls `ok` every 20 ms until it holds; panics after 10 s.
fn eventually(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v["id"].as_i64().expect("id"))
        .collect()
}

fn names(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v["name"].as_str().expect("name").to_string())
        .collect()
}

fn set<const N: usize>(items: [&str; N]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// (operator, source, weight) of a weight list.
fn cells(list: &Value) -> BTreeSet<(String, String, u64)> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|w| {
            assert_eq!(w["operator"], w["operator_name"], "{w}");
            (
                w["operator"].as_str().unwrap().to_string(),
                w["source"].as_str().unwrap().to_string(),
                w["weight"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn cell(op: &str, src: &str, w: u64) -> (String, String, u64) {
    (op.to_string(), src.to_string(), w)
}

/// Adds a token through the CLI and returns its secret.
fn token(db: &Db, name: &str, role: &str) -> String {
    db.ok(&["token", "add", name, "--role", role])
        .trim()
        .to_string()
}

fn store(db: &Db) -> Store {
    Store::open(&db.path, OpenOptions::default()).expect("open the file")
}

fn reader(db: &Db) -> Store {
    Store::open(
        &db.path,
        OpenOptions {
            read_only: true,
            ..OpenOptions::default()
        },
    )
    .expect("open the file read-only")
}

/// Every contact in the file as id -> (idempotency key, status, operator id).
fn contacts_in_file(db: &Db) -> BTreeMap<i64, (Option<String>, String, Option<i64>)> {
    let conn = db.conn();
    let mut stmt = conn
        .prepare("SELECT id, idempotency_key, status, operator_id FROM contact")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

// ---------------------------------------------------------------- operators, sources

#[test]
fn operators_crud_with_the_seed_aliases() {
    let db = Db::new();
    let server = Server::start(&db);
    let (api, root) = clients(&server);

    // The older services' names in a request, and both names in the answer.
    let ann = api
        .post(
            "/operators",
            &json!({"name": "ann", "max_load_limit": 3, "is_active": true}),
        )
        .expect(201);
    for (ours, theirs, value) in [
        ("max_load", "max_load_limit", json!(3)),
        ("active", "is_active", json!(true)),
        ("load", "current_load", json!(0)),
    ] {
        assert_eq!(ann[ours], value, "{ann}");
        assert_eq!(ann[theirs], value, "{ann}");
    }
    assert_eq!(ann["name"], "ann");
    let bob = api
        .post(
            "/operators",
            &json!({"name": "bob", "max_load": 2, "active": false}),
        )
        .expect(201);
    assert_eq!(
        (&bob["is_active"], &bob["max_load_limit"]),
        (&json!(false), &json!(2))
    );
    let cid = api.post("/operators", &json!({"name": "cid"})).expect(201);
    assert_eq!(
        (&cid["max_load"], &cid["active"]),
        (&json!(5), &json!(true))
    );

    // Listed at /api/v1, /api and the root, with or without a trailing slash.
    for list in [
        api.get("/operators").expect(200),
        api.get("/operators/").expect(200),
        root.get("/api/operators").expect(200),
        root.get("/operators").expect(200),
    ] {
        assert_eq!(names(&list), set(["ann", "bob", "cid"]));
    }
    // One operator by id or by name.
    let by_id = api.get(&format!("/operators/{}", ann["id"])).expect(200);
    let by_name = api.get("/operators/ann").expect(200);
    assert_eq!(by_id, by_name);
    assert_eq!(by_id["id"], ann["id"]);

    // PATCH with the aliases.
    let bob = api
        .patch(
            "/operators/bob",
            &json!({"is_active": true, "max_load_limit": 4}),
        )
        .expect(200);
    assert_eq!(
        (&bob["active"], &bob["max_load"]),
        (&json!(true), &json!(4))
    );
    // Compare-and-set: a stale `expected` changes nothing.
    let p = api
        .patch(
            "/operators/bob",
            &json!({"max_load": 6, "expected": {"max_load": 2}}),
        )
        .problem(409);
    assert!(p["type"].as_str().unwrap().ends_with("/stale"), "{p}");
    assert_eq!(api.get("/operators/bob").expect(200)["max_load"], 4);
    let bob = api
        .patch(
            "/operators/bob",
            &json!({"max_load": 6, "expected": {"max_load": 4, "is_active": true}}),
        )
        .expect(200);
    assert_eq!(bob["max_load"], 6);
    // The CLI reads what the server wrote.
    assert_eq!(db.operator("bob")["max_load"], 6);

    // Rename; the old name is gone.
    let cy = api
        .patch(&format!("/operators/{}", cid["id"]), &json!({"name": "cy"}))
        .expect(200);
    assert_eq!(cy["name"], "cy");
    api.get("/operators/cid").problem(404);

    // Names are unique.
    api.post("/operators", &json!({"name": "ann"})).problem(409);
    api.patch("/operators/cy", &json!({"name": "ann"}))
        .problem(409);
    assert_eq!(api.get("/operators/cy").expect(200)["id"], cid["id"]);

    // Delete answers the deleted operator; then it is not found.
    let gone = api.delete("/operators/cy").expect(200);
    assert_eq!((&gone["id"], &gone["name"]), (&cid["id"], &json!("cy")));
    api.get("/operators/cy").problem(404);
    api.delete("/operators/cy").problem(404);
    api.patch("/operators/9999", &json!({"max_load": 1}))
        .problem(404);
    assert_eq!(
        names(&api.get("/operators").expect(200)),
        set(["ann", "bob"])
    );

    server.stop_cleanly();
}

#[test]
fn sources_crud_with_code() {
    let db = Db::new();
    let server = Server::start(&db);
    let (api, _) = clients(&server);

    let web = api
        .post(
            "/sources",
            &json!({"name": "web", "description": "site form", "code": "WEB-1"}),
        )
        .expect(201);
    assert_eq!(web["code"], "WEB-1");
    assert_eq!(web["strategy"], "weighted");
    assert_eq!(web["description"], "site form");
    assert_eq!((&web["waiting"], &web["total"]), (&json!(0), &json!(0)));
    let tg = api
        .post("/sources", &json!({"name": "tg", "strategy": "capacity"}))
        .expect(201);
    assert_eq!(tg["code"], Value::Null);
    assert_eq!(tg["strategy"], "capacity");

    // Names and codes are unique; a strategy is one of two words.
    api.post("/sources", &json!({"name": "web"})).problem(409);
    api.post("/sources", &json!({"name": "x", "code": "WEB-1"}))
        .problem(409);
    let p = api
        .post("/sources", &json!({"name": "x", "strategy": "random"}))
        .problem(422);
    assert!(p["detail"].as_str().unwrap().contains("random"), "{p}");
    assert_eq!(names(&api.get("/sources").expect(200)), set(["tg", "web"]));

    assert_eq!(api.get("/sources/web").expect(200)["id"], web["id"]);
    assert_eq!(
        api.get(&format!("/sources/{}", tg["id"])).expect(200)["name"],
        "tg"
    );
    let tg = api
        .patch(
            "/sources/tg",
            &json!({"description": "bot", "strategy": "weighted"}),
        )
        .expect(200);
    assert_eq!(
        (&tg["description"], &tg["strategy"]),
        (&json!("bot"), &json!("weighted"))
    );
    api.patch(
        "/sources/tg",
        &json!({"description": "x", "expected": {"description": "not what it is"}}),
    )
    .problem(409);
    api.patch(
        "/sources/tg",
        &json!({"name": "telegram", "expected": {"description": "bot"}}),
    )
    .expect(200);
    api.get("/sources/tg").problem(404);

    // A contact names its source by code.
    let c = api
        .post(
            "/contacts",
            &json!({"source_code": "WEB-1", "email": "a@x.io"}),
        )
        .expect(201);
    assert_eq!((&c["source"], &c["source_id"]), (&json!("web"), &web["id"]));
    let p = api
        .post(
            "/contacts",
            &json!({"source_code": "NOPE", "email": "a@x.io"}),
        )
        .problem(422);
    assert_eq!(p["field"], "source_code");
    assert_eq!(api.get("/sources/web").expect(200)["total"], 1);

    // A source with contacts stays; one without goes.
    api.delete("/sources/web").problem(409);
    let gone = api.delete("/sources/telegram").expect(200);
    assert_eq!(gone["name"], "telegram");
    api.get("/sources/telegram").problem(404);
    api.delete("/sources/9999").problem(404);
    assert_eq!(names(&api.get("/sources").expect(200)), set(["web"]));

    server.stop_cleanly();
}

// ---------------------------------------------------------------- weights

#[test]
fn weights_matrix_sets_cells_and_compare_and_set() {
    let db = Db::new();
    let server = Server::start(&db);
    let (api, _) = clients(&server);
    for name in ["ann", "bob", "cy"] {
        api.post("/operators", &json!({"name": name})).expect(201);
    }
    let web = api.post("/sources", &json!({"name": "web"})).expect(201);
    api.post("/sources", &json!({"name": "tg"})).expect(201);
    let bob_id = api.get("/operators/bob").expect(200)["id"].clone();

    // One cell at a time, by name or by id, at /weights and /operator-weights.
    let w = api
        .post(
            "/weights",
            &json!({"operator_id": "ann", "source_id": "web", "weight": 3}),
        )
        .expect(200);
    assert_eq!(cells(&json!([w])), BTreeSet::from([cell("ann", "web", 3)]));
    api.post(
        "/operator-weights",
        &json!({"operator": bob_id, "source": web["id"], "weight": 2}),
    )
    .expect(200);
    let all = BTreeSet::from([cell("ann", "web", 3), cell("bob", "web", 2)]);
    assert_eq!(cells(&api.get("/weights").expect(200)), all);
    assert_eq!(cells(&api.get("/operator-weights").expect(200)), all);
    assert_eq!(cells(&api.get("/sources/web/weights").expect(200)), all);
    assert_eq!(cells(&api.get("/sources/web/operators").expect(200)), all);
    assert_eq!(
        cells(&api.get("/sources/tg/weights").expect(200)),
        BTreeSet::new()
    );

    // Replacing a set: whoever is not listed gets 0.
    let after = api
        .put(
            "/sources/web/weights",
            &json!([{"operator_id": "cy", "weight": 4}]),
        )
        .expect(200);
    assert_eq!(cells(&after), BTreeSet::from([cell("cy", "web", 4)]));
    assert_eq!(
        cells(&api.get("/weights").expect(200)),
        BTreeSet::from([cell("cy", "web", 4)])
    );
    // POST is the same, and the set may come wrapped in an object.
    api.post(
        "/sources/web/weights",
        &json!({"weights": [{"operator": "ann", "weight": 1}, {"operator_id": bob_id, "weight": 1}]}),
    )
    .expect(200);
    assert_eq!(
        cells(&api.get("/sources/web/weights").expect(200)),
        BTreeSet::from([cell("ann", "web", 1), cell("bob", "web", 1)])
    );
    api.put(
        "/sources/tg/operators",
        &json!({"operators": [{"operator_id": "ann", "weight": 7}]}),
    )
    .expect(200);
    api.post(
        "/sources/tg/operators",
        &json!([{"operator_id": "bob", "weight": 2}]),
    )
    .expect(200);
    assert_eq!(
        cells(&api.get("/sources/tg/operators").expect(200)),
        BTreeSet::from([cell("bob", "tg", 2)])
    );
    // An unknown operator in a set is 404 and changes nothing.
    api.put(
        "/sources/tg/weights",
        &json!([{"operator_id": "cy", "weight": 1}, {"operator_id": "nobody", "weight": 1}]),
    )
    .problem(404);
    assert_eq!(
        cells(&api.get("/sources/tg/weights").expect(200)),
        BTreeSet::from([cell("bob", "tg", 2)])
    );

    // One cell by path, with compare-and-set on the weight the caller saw.
    let w = api
        .put("/sources/web/weights/cy", &json!({"weight": 5}))
        .expect(200);
    assert_eq!(w["weight"], 5);
    let p = api
        .put(
            "/sources/web/weights/cy",
            &json!({"weight": 9, "expected": 4}),
        )
        .problem(409);
    assert!(p["type"].as_str().unwrap().ends_with("/stale"), "{p}");
    let w = api
        .put(
            "/sources/web/weights/cy",
            &json!({"weight": 9, "expected": 5}),
        )
        .expect(200);
    assert_eq!(w["weight"], 9);
    api.post(
        "/weights",
        &json!({"operator_id": "ann", "source_id": "web", "weight": 2, "expected": 0}),
    )
    .problem(409);
    // Weight 0 takes the operator out of the list.
    api.post(
        "/weights",
        &json!({"operator_id": "ann", "source_id": "web", "weight": 0, "expected": 1}),
    )
    .expect(200);
    assert_eq!(
        cells(&api.get("/sources/web/weights").expect(200)),
        BTreeSet::from([cell("bob", "web", 1), cell("cy", "web", 9)])
    );

    // Unknown ids.
    api.get("/sources/nope/weights").problem(404);
    api.put("/sources/nope/weights", &json!([])).problem(404);
    api.put("/sources/web/weights/nobody", &json!({"weight": 1}))
        .problem(404);
    api.post(
        "/weights",
        &json!({"operator_id": "nobody", "source_id": "web", "weight": 1}),
    )
    .problem(404);
    api.post(
        "/weights",
        &json!({"operator_id": "ann", "source_id": 9999, "weight": 1}),
    )
    .problem(404);
    // A weight is a whole number.
    api.put("/sources/web/weights/cy", &json!({"weight": -1}))
        .problem(422);
    api.put("/sources/web/weights/cy", &json!({"weight": "heavy"}))
        .problem(422);

    server.stop_cleanly();
}

// ---------------------------------------------------------------- contacts

#[test]
fn contacts_intake_replay_batch_list_assign_close_reopen_drain() {
    let db = Db::new();
    let server = Server::start(&db);
    let (api, _) = clients(&server);
    let web = api.post("/sources", &json!({"name": "web"})).expect(201);
    for name in ["ann", "bob", "cy"] {
        api.post("/operators", &json!({"name": name, "max_load": 1}))
            .expect(201);
    }
    let op_id = |name: &str| api.get(&format!("/operators/{name}")).expect(200)["id"].clone();
    let (ann, bob, cy) = (op_id("ann"), op_id("bob"), op_id("cy"));
    api.put(
        "/sources/web/weights",
        &json!([{"operator_id": "ann", "weight": 1}, {"operator_id": "bob", "weight": 1}]),
    )
    .expect(200);

    // Created and routed at once.
    let first = json!({"source": "web", "email": "p1@x.io", "name": "P One",
                       "message": "call me", "idempotency_key": "k1"});
    let c1 = api.post("/contacts", &first).expect(201);
    assert_eq!(c1["status"], "active");
    assert!(c1["operator_id"].is_i64(), "{c1}");
    assert_eq!(c1["operator_name"], c1["operator"]);
    assert_eq!(c1["duplicate"], false);
    assert_eq!(
        (&c1["message"], &c1["payload"]),
        (&json!("call me"), &json!("call me"))
    );
    assert_eq!(c1["lead"]["email"], "p1@x.io");
    assert_eq!(c1["idempotency_key"], "k1");
    // The same key again: 200 with the original, nothing new stored.
    let again = api.post("/contacts", &first).expect(200);
    assert_eq!(
        (&again["id"], &again["duplicate"]),
        (&c1["id"], &json!(true))
    );
    assert_eq!(again["operator_id"], c1["operator_id"]);
    // The key in the Idempotency-Key header.
    let second = json!({"source": "web", "phone": "+1 555 0100"}).to_string();
    let post_with_key = |key: &str| {
        api.send(
            Method::POST,
            "/contacts",
            Some(second.clone()),
            &[("Idempotency-Key", key)],
        )
    };
    let c2 = post_with_key("h2").expect(201);
    let again = post_with_key("h2").expect(200);
    assert_eq!(
        (&again["id"], &again["duplicate"]),
        (&c2["id"], &json!(true))
    );
    assert_eq!(c2["idempotency_key"], "h2");
    assert_ne!(
        c1["operator_id"], c2["operator_id"],
        "ann and bob take one each"
    );

    // Nobody free: stored, waiting, operator_id null.
    let c3 = api
        .post("/contacts", &json!({"source": "web", "email": "p3@x.io"}))
        .expect(201);
    assert_eq!(
        (&c3["status"], &c3["operator_id"]),
        (&json!("waiting"), &Value::Null)
    );
    let c4 = api
        .post(
            "/contacts",
            &json!({"source_id": web["id"], "lead": {"external_id": "ext-4"}}),
        )
        .expect(201);
    assert_eq!(
        (&c4["status"], &c4["operator_id"]),
        (&json!("waiting"), &Value::Null)
    );
    assert_eq!(c4["lead_external_id"], "ext-4");
    assert_eq!(contacts_in_file(&db).len(), 4);

    // A batch with bad items among good ones: the good ones are stored.
    let batch = api
        .post(
            "/contacts/batch",
            &json!([
                {"source": "web", "email": "b1@x.io"},
                {"source": "web", "email": "b2@x.io", "bogus": 1},
                {"source": "nope", "email": "b3@x.io"},
                {"source": "web"},
                {"source": "web", "phone": "+1 555 0199"},
                42,
                {"source": "web", "email": "p1@x.io", "idempotency_key": "k1"}
            ]),
        )
        .expect(200);
    let statuses: Vec<u64> = batch["results"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            assert_eq!(r["index"], i, "{batch}");
            r["status"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(statuses, [201, 422, 422, 422, 201, 422, 200], "{batch}");
    assert_eq!(
        (&batch["created"], &batch["replayed"], &batch["failed"]),
        (&json!(2), &json!(1), &json!(4))
    );
    assert_eq!(batch["results"][1]["error"]["field"], "bogus");
    assert_eq!(batch["results"][2]["error"]["field"], "source");
    assert_eq!(batch["results"][6]["contact"]["id"], c1["id"]);
    let b1 = batch["results"][0]["contact"]["id"].as_i64().unwrap();
    let b5 = batch["results"][4]["contact"]["id"].as_i64().unwrap();
    let in_file = contacts_in_file(&db);
    assert_eq!(in_file.len(), 6);
    assert!(in_file.contains_key(&b1) && in_file.contains_key(&b5));

    // Lists, newest first, with filters.
    let all = ids(&api.get("/contacts").expect(200));
    assert_eq!(all.len(), 6);
    assert!(all.windows(2).all(|w| w[0] > w[1]), "{all:?}");
    let c = |v: &Value| v["id"].as_i64().unwrap();
    let waiting: BTreeSet<i64> = ids(&api.get("/contacts?status=waiting").expect(200))
        .into_iter()
        .collect();
    assert_eq!(waiting, BTreeSet::from([c(&c3), c(&c4), b1, b5]));
    let active: BTreeSet<i64> = ids(&api.get("/contacts?status=in_progress").expect(200))
        .into_iter()
        .collect();
    assert_eq!(active, BTreeSet::from([c(&c1), c(&c2)]));
    assert_eq!(ids(&api.get("/contacts?source=web").expect(200)), all);
    assert_eq!(
        ids(&api
            .get(&format!("/contacts?source_id={}", web["id"]))
            .expect(200)),
        all
    );
    let anns = if c1["operator_id"] == ann { &c1 } else { &c2 };
    assert_eq!(
        ids(&api.get("/contacts?operator=ann").expect(200)),
        [c(anns)]
    );
    assert_eq!(
        ids(&api.get(&format!("/contacts?operator_id={bob}")).expect(200)).len(),
        1
    );
    assert_eq!(
        ids(&api
            .get(&format!("/contacts?lead={}", c1["lead_id"]))
            .expect(200)),
        [c(&c1)]
    );
    assert_eq!(
        ids(&api.get("/contacts?status=active&operator=cy").expect(200)),
        Vec::<i64>::new()
    );
    api.get("/contacts?source=nope").problem(422);
    api.get("/contacts?status=lost").problem(422);
    api.get("/contacts?limit=0").problem(422);
    api.get("/contacts?limit=many").problem(422);

    // Keyset paging through X-Next-Before.
    let mut paged = Vec::new();
    let mut next = "/contacts?limit=4".to_string();
    let mut pages = 0;
    loop {
        let r = api.get(&next);
        let page = ids(&r.expect(200));
        assert!(page.len() <= 4);
        paged.extend(&page);
        pages += 1;
        let Some(before) = r.header("x-next-before") else {
            break;
        };
        assert_eq!(before, page.last().unwrap().to_string());
        assert!(
            r.header("link")
                .unwrap()
                .contains(&format!("before={before}"))
        );
        next = format!("/contacts?limit=4&before={before}");
    }
    assert_eq!((paged, pages), (all.clone(), 2));

    // One contact.
    let got = api.get(&format!("/contacts/{}", c(&c3))).expect(200);
    assert_eq!(
        (&got["status"], &got["lead"]["email"]),
        (&json!("waiting"), &json!("p3@x.io"))
    );
    api.get("/contacts/999999").problem(404);
    api.get("/contacts/abc").problem(404);

    // Assign by hand: a full operator needs force.
    let assign = |id: i64, body: Value| api.post(&format!("/contacts/{id}/assign"), &body);
    let p = assign(c(&c3), json!({"operator_id": "ann"})).problem(409);
    assert!(p["type"].as_str().unwrap().ends_with("/needs-force"), "{p}");
    let got = assign(c(&c3), json!({"operator_id": "ann", "force": true})).expect(200);
    assert_eq!(
        (&got["operator_id"], &got["status"]),
        (&ann, &json!("active"))
    );
    assert_eq!(api.get("/operators/ann").expect(200)["load"], 2);
    let got = assign(c(&c4), json!({"operator": "cy"})).expect(200);
    assert_eq!(got["operator"], "cy");
    // Taken already: without `reassign` it is refused and names who holds it.
    let p = assign(c(&c4), json!({"operator_id": bob})).problem(409);
    assert_eq!(p["extra"]["operator"], "cy", "{p}");
    let got = assign(
        c(&c4),
        json!({"operator_id": bob, "reassign": true, "force": true}),
    )
    .expect(200);
    assert_eq!(got["operator_id"], bob);
    // Compare-and-set: the caller saw it with ann, but bob holds it: 409 naming bob.
    let p = assign(c(&c4), json!({"operator_id": "cy", "expect_operator": ann})).problem(409);
    assert_eq!(p["extra"]["operator"], "bob", "{p}");
    assert!(p["detail"].as_str().unwrap().contains("bob"), "{p}");
    assert_eq!(
        api.get(&format!("/contacts/{}", c(&c4))).expect(200)["operator"],
        "bob"
    );
    let got = assign(c(&c4), json!({"operator_id": "cy", "expect_operator": bob})).expect(200);
    assert_eq!(got["operator"], "cy");
    // Expecting it still waiting: it is not.
    let p = assign(
        c(&c4),
        json!({"operator_id": "bob", "expect_operator": null}),
    )
    .problem(409);
    assert_eq!(p["extra"]["operator"], "cy", "{p}");
    assign(c(&c4), json!({"operator_id": "nobody", "reassign": true})).problem(404);
    assign(999_999, json!({"operator_id": "ann"})).problem(404);

    // Close, reopen; each only from the right status.
    let closed = api
        .post(&format!("/contacts/{}/close", c(&c4)), &json!({}))
        .expect(200);
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string(), "{closed}");
    let p = api
        .post(&format!("/contacts/{}/close", c(&c4)), &json!({}))
        .problem(409);
    assert_eq!(p["extra"]["status"], "closed", "{p}");
    let reopened = api
        .post(&format!("/contacts/{}/reopen", c(&c4)), &json!({}))
        .expect(200);
    assert_eq!(
        (&reopened["status"], &reopened["operator"]),
        (&json!("active"), &json!("cy"))
    );
    api.post(&format!("/contacts/{}/reopen", c(&c4)), &json!({}))
        .problem(409);
    // The older services' status change, by body or by query.
    let r = api
        .patch(
            &format!("/contacts/{}/status", c(&c4)),
            &json!({"status": "completed"}),
        )
        .expect(200);
    assert_eq!(r["status"], "closed");
    let r = api
        .send(
            Method::PATCH,
            &format!("/contacts/{}/status?status=in_progress", c(&c4)),
            None,
            &[],
        )
        .expect(200);
    assert_eq!(r["status"], "active");
    api.patch(&format!("/contacts/{}/status", c(&c4)), &json!({}))
        .problem(422);
    api.post("/contacts/999999/close", &json!({})).problem(404);
    api.post("/contacts/999999/reopen", &json!({})).problem(404);

    // An operator holding open contacts cannot be deleted.
    let p = api.delete("/operators/cy").problem(409);
    assert!(p["detail"].as_str().unwrap().contains("cy"), "{p}");
    assert_eq!(api.get("/operators/cy").expect(200)["id"], cy);

    // Drain: capacity that appeared behind the store's back (as an older build
    // would leave it) is used by an explicit drain.
    let waiting_now = ids(&api.get("/contacts?status=waiting").expect(200));
    assert_eq!(waiting_now.len(), 2, "{waiting_now:?}");
    db.conn()
        .execute("UPDATE operator SET max_load = 10 WHERE name = 'bob'", [])
        .unwrap();
    let drained = api.post("/contacts/drain", &json!({})).expect(200);
    assert_eq!(drained["routed"], 2);
    assert_eq!(
        ids(&api.get("/contacts?status=waiting").expect(200)),
        Vec::<i64>::new()
    );
    assert_eq!(
        api.post("/contacts/drain", &json!({})).expect(200)["routed"],
        0
    );

    // Loads follow the active contacts (ann is over her limit: forced).
    for (name, load, open, _) in common::loads(&db.conn()) {
        assert_eq!(load, open, "{name}");
    }
    server.stop_cleanly();
}

// ---------------------------------------------------------------- leads, stats, audit, service

#[test]
fn leads_stats_audit_health_metrics() {
    let db = Db::new();
    let server = Server::start(&db);
    let (api, root) = clients(&server);
    api.post("/sources", &json!({"name": "web"})).expect(201);
    api.post("/operators", &json!({"name": "ann", "max_load": 2}))
        .expect(201);
    api.put("/sources/web/weights/ann", &json!({"weight": 1}))
        .expect(200);
    for email in ["same@x.io", "other@x.io", "SAME@x.io"] {
        api.post("/contacts", &json!({"source": "web", "email": email}))
            .expect(201);
    }

    // Leads, newest first, each with its contacts.
    let leads = api.get("/leads").expect(200);
    let list = leads.as_array().unwrap();
    assert_eq!(list.len(), 2, "{leads}");
    assert!(list[0]["id"].as_i64() > list[1]["id"].as_i64());
    let same = list
        .iter()
        .find(|l| l["email"] == "same@x.io")
        .expect("lead same@x.io");
    assert_eq!(same["contacts"].as_array().unwrap().len(), 2, "{same}");
    let one = api.get(&format!("/leads/{}", same["id"])).expect(200);
    assert_eq!(one["contacts"], same["contacts"]);
    api.get("/leads/999999").problem(404);
    api.get("/leads/someone").problem(404);
    let r = api.get("/leads?limit=1");
    let page = r.expect(200);
    assert_eq!(ids(&page), [list[0]["id"].as_i64().unwrap()]);
    let before = r.header("x-next-before").expect("a next page");
    let rest = api
        .get(&format!("/leads?limit=1&before={before}"))
        .expect(200);
    assert_eq!(ids(&rest), [list[1]["id"].as_i64().unwrap()]);
    assert_eq!(api.get("/requests/leads/all").expect(200), leads);

    // Stats: three contacts, ann took two (her limit), one waits.
    let stats = api.get("/stats").expect(200);
    let web = &stats[0];
    assert_eq!(
        (
            &web["source"],
            &web["total"],
            &web["routed"],
            &web["waiting"]
        ),
        (&json!("web"), &json!(3), &json!(2), &json!(1)),
        "{stats}"
    );
    let share = &web["operators"][0];
    assert_eq!(
        (&share["operator"], &share["weight"], &share["count"]),
        (&json!("ann"), &json!(1), &json!(2))
    );
    assert_eq!(share["configured_share"].as_f64(), Some(1.0));
    assert_eq!(share["actual_share"].as_f64(), Some(1.0));
    assert_eq!(api.get("/requests/distribution/stats").expect(200), stats);

    // The audit log: writes without a token are the API's.
    let audit = api.get("/audit").expect(200);
    let actions: BTreeSet<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["actor"], "api", "{a}");
            a["action"].as_str().unwrap()
        })
        .collect();
    assert!(
        actions.is_superset(&BTreeSet::from([
            "source.create",
            "operator.create",
            "weight.set"
        ])),
        "{actions:?}"
    );
    let filtered = api.get("/audit?filter=operator.create").expect(200);
    let filtered = filtered.as_array().unwrap();
    assert_eq!(filtered.len(), 1, "{filtered:?}");
    assert_eq!(filtered[0]["after"]["name"], "ann", "{:?}", filtered[0]);
    let r = api.get("/audit?limit=1");
    assert_eq!(r.expect(200).as_array().unwrap().len(), 1);
    assert!(r.header("x-next-before").is_some());

    let health = root.get("/health").expect(200);
    assert_eq!(health["status"], "ok");
    assert_eq!(
        health["schema_version"],
        switchboard::store::latest_version()
    );

    let metrics = root.get("/metrics");
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    for line in [
        "switchboard_operator_load{operator=\"ann\"} 2",
        "switchboard_operator_max_load{operator=\"ann\"} 2",
        "switchboard_operator_active{operator=\"ann\"} 1",
        "switchboard_source_waiting{source=\"web\"} 1",
        "switchboard_contacts_taken_total 3",
        "switchboard_contacts_routed_total 2",
        "switchboard_http_requests_total{method=\"POST\",route=\"/api/v1/contacts\",status=\"201\"} 3",
        "switchboard_http_requests_total{method=\"GET\",route=\"/api/v1/leads/{id}\",status=\"404\"} 2",
    ] {
        assert!(
            metrics.text.lines().any(|l| l == line),
            "no line {line:?} in:\n{}",
            metrics.text
        );
    }

    server.stop_cleanly();
}

// ---------------------------------------------------------------- bad input

#[test]
fn bad_input_gets_the_right_4xx_as_problem_json() {
    let db = Db::new();
    let server = Server::start(&db);
    let (api, root) = clients(&server);
    api.post("/sources", &json!({"name": "web"})).expect(201);
    api.post("/operators", &json!({"name": "ann"})).expect(201);
    api.put("/sources/web/weights/ann", &json!({"weight": 1}))
        .expect(200);
    let c = api
        .post("/contacts", &json!({"source": "web", "email": "a@x.io"}))
        .expect(201);
    let raw = |method: Method, path: &str, body: &str| {
        api.send(method, path, Some(body.to_string()), &[])
    };

    // Malformed JSON: 400.
    for body in ["{\"name\": ", "not json", "{'name': 'x'}", "", "   "] {
        raw(Method::POST, "/operators", body).problem(400);
        raw(Method::POST, "/contacts", body).problem(400);
    }
    raw(Method::POST, "/contacts/batch", "[{").problem(400);

    // Unknown field: 422 naming it.
    for (path, body) in [
        ("/operators", json!({"name": "x", "colour": "red"})),
        ("/sources", json!({"name": "x", "colour": "red"})),
        (
            "/contacts",
            json!({"source": "web", "email": "b@x.io", "colour": "red"}),
        ),
        (
            "/weights",
            json!({"operator_id": "ann", "source_id": "web", "weight": 1, "colour": 1}),
        ),
    ] {
        let p = api.post(path, &body).problem(422);
        assert_eq!(p["field"], "colour", "{path}: {p}");
        assert!(p["detail"].as_str().unwrap().contains("colour"), "{p}");
    }
    let p = api
        .patch("/operators/ann", &json!({"colour": "red"}))
        .problem(422);
    assert_eq!(p["field"], "colour", "{p}");

    // Wrong type: 422.
    for (path, body) in [
        ("/operators", json!({"name": 5})),
        ("/operators", json!({"name": "x", "max_load": "many"})),
        ("/operators", json!({"name": "x", "active": "yes"})),
        ("/contacts", json!({"source": "web", "email": 7})),
        ("/contacts", json!(["a list"])),
        (
            "/weights",
            json!({"operator_id": "ann", "source_id": "web", "weight": "1"}),
        ),
    ] {
        api.post(path, &body).problem(422);
    }
    api.post("/contacts/batch", &json!({"not": "a list"}))
        .problem(422);

    // Missing required field: 422 naming it.
    for (path, body, field) in [
        ("/operators", json!({}), "name"),
        ("/sources", json!({"description": "d"}), "name"),
        ("/contacts", json!({"email": "b@x.io"}), "source"),
        (
            "/weights",
            json!({"operator_id": "ann", "weight": 1}),
            "source_id",
        ),
    ] {
        let p = api.post(path, &body).problem(422);
        assert_eq!(p["field"], field, "{path}: {p}");
    }
    let p = api
        .post(
            &format!("/contacts/{}/assign", c["id"]),
            &json!({"force": true}),
        )
        .problem(422);
    assert_eq!(p["field"], "operator_id", "{p}");
    // A contact with nothing to know the lead by.
    api.post("/contacts", &json!({"source": "web", "message": "hi"}))
        .problem(422);
    // Names that are not names.
    api.post("/operators", &json!({"name": "   "})).problem(422);

    // Unknown ids: 404.
    for path in [
        "/operators/9999",
        "/operators/nobody",
        "/sources/9999",
        "/sources/nothing",
        "/sources/9999/weights",
        "/contacts/9999",
        "/leads/9999",
        "/requests/9999",
    ] {
        api.get(path).problem(404);
    }
    api.patch("/sources/9999", &json!({"description": "x"}))
        .problem(404);
    api.delete("/operators/9999").problem(404);
    api.post("/contacts/9999/close", &json!({})).problem(404);
    api.post("/contacts/9999/assign", &json!({"operator_id": "ann"}))
        .problem(404);
    api.post(
        &format!("/contacts/{}/assign", c["id"]),
        &json!({"operator_id": 9999, "reassign": true}),
    )
    .problem(404);

    // A path segment that is not UTF-8: 400.
    for path in ["/operators/%ff", "/contacts/%ff", "/leads/%C3%28"] {
        api.get(path).problem(400);
    }
    api.put("/sources/%ff/weights/ann", &json!({"weight": 1}))
        .problem(400);

    // Unknown paths: 404 problem+json, at every mount.
    for path in [
        "/api/v1/nope",
        "/nope",
        "/api/v2/operators",
        "/api/v1/operators/1/x",
    ] {
        let p = root.get(path).problem(404);
        assert!(p["detail"].as_str().unwrap().contains(path), "{p}");
    }
    // Wrong method: 405 problem+json with Allow.
    for (method, path) in [
        (Method::DELETE, "/api/v1/operators"),
        (Method::PUT, "/api/v1/contacts"),
        (Method::POST, "/api/v1/stats"),
        (Method::DELETE, "/api/v1/contacts/1"),
        (Method::GET, "/api/v1/contacts/drain"),
        (Method::PATCH, "/operators"),
    ] {
        let r = root.send(method.clone(), path, None, &[]);
        r.problem(405);
        assert!(r.header("allow").is_some(), "{method} {path}: no Allow");
    }

    // Over 1 MiB: 413, and nothing is stored.
    let huge = json!({"source": "web", "email": "big@x.io", "message": "x".repeat(1 << 20)});
    api.post("/contacts", &huge).problem(413);
    for path in ["/contacts/1/status", "/requests/1/status"] {
        api.patch(
            path,
            &json!({"status": "closed", "note": "x".repeat(1 << 20)}),
        )
        .problem(413);
    }
    let many: Vec<Value> = (0..20_000)
        .map(|i| json!({"source": "web", "email": format!("m{i}@x.io"), "message": "y".repeat(40)}))
        .collect();
    api.post("/contacts/batch", &Value::Array(many))
        .problem(413);
    // More than 1000 items (under 1 MiB) is refused as a whole too.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"source": "web", "email": format!("m{i}@x.io")}))
        .collect();
    api.post("/contacts/batch", &Value::Array(many))
        .problem(413);
    assert_eq!(contacts_in_file(&db).len(), 1);

    // Conflicts: 409.
    api.post("/operators", &json!({"name": "ann"})).problem(409);
    api.post("/sources", &json!({"name": "web"})).problem(409);
    api.delete("/operators/ann").problem(409);
    api.delete("/sources/web").problem(409);

    let stopped = server.stop_cleanly();
    // The check every answer made in this test holds for the log as a whole.
    assert!(common::server::requests_in_log(&stopped.log).len() > 60);
}

// ---------------------------------------------------------------- tokens and roles

#[test]
fn tokens_and_roles() {
    let db = Db::new();
    let server = Server::start(&db);
    let (api, root) = clients(&server);

    // No token in the file: open, and the audit names the API.
    api.post("/sources", &json!({"name": "web"})).expect(201);
    api.post("/operators", &json!({"name": "ann", "max_load": 100}))
        .expect(201);
    api.put("/sources/web/weights/ann", &json!({"weight": 1}))
        .expect(200);
    api.get("/operators").expect(200);

    let boss = token(&db, "boss", "supervisor");
    let form = token(&db, "form", "intake");
    let wall = token(&db, "wall", "viewer");
    // The server learns about the first token within its cache second.
    eventually("requests without a token are refused", || {
        api.get("/operators").status == 401
    });
    let r = api.get("/operators");
    r.problem(401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = api.with_token("sb_not-a-token").get("/operators");
    r.problem(401);
    assert!(r.header("www-authenticate").is_some());
    api.send(
        Method::GET,
        "/operators",
        None,
        &[("Authorization", &format!("Basic {boss}"))],
    )
    .problem(401);
    api.post("/contacts", &json!({"source": "web", "email": "anon@x.io"}))
        .problem(401);
    root.get("/metrics").problem(401);
    // Open whatever the tokens: health, the document, the docs.
    root.get("/health").expect(200);
    root.get("/api/v1/openapi.json").expect(200);
    assert_eq!(root.get("/docs").status, 200);

    let sup = api.with_token(&boss);
    let intake = api.with_token(&form);
    let viewer = api.with_token(&wall);

    // intake: creates contacts, nothing else.
    let c = intake
        .post("/contacts", &json!({"source": "web", "email": "i@x.io"}))
        .expect(201);
    let id = c["id"].as_i64().unwrap();
    intake
        .post(
            "/contacts/batch",
            &json!([{"source": "web", "email": "j@x.io"}]),
        )
        .expect(200);
    for path in [
        "/contacts",
        "/operators",
        "/stats",
        "/audit",
        &format!("/contacts/{id}"),
    ] {
        let p = intake.get(path).problem(403);
        assert!(p["detail"].as_str().unwrap().contains("intake"), "{p}");
    }
    intake
        .post("/operators", &json!({"name": "x"}))
        .problem(403);
    intake
        .patch("/operators/ann", &json!({"max_load": 1}))
        .problem(403);
    intake.delete("/operators/ann").problem(403);
    intake
        .post(&format!("/contacts/{id}/close"), &json!({}))
        .problem(403);
    intake.post("/contacts/drain", &json!({})).problem(403);
    intake
        .put("/sources/web/weights/ann", &json!({"weight": 2}))
        .problem(403);

    // viewer: reads, never writes.
    for path in [
        "/operators",
        "/sources",
        "/weights",
        "/contacts",
        "/leads",
        "/stats",
        "/audit",
        &format!("/contacts/{id}"),
    ] {
        viewer.get(path).expect(200);
    }
    assert_eq!(
        Api::new(&server).with_token(&wall).get("/metrics").status,
        200
    );
    viewer
        .post("/contacts", &json!({"source": "web", "email": "v@x.io"}))
        .problem(403);
    viewer
        .post(
            "/contacts/batch",
            &json!([{"source": "web", "email": "v@x.io"}]),
        )
        .problem(403);
    viewer
        .post("/operators", &json!({"name": "x"}))
        .problem(403);
    viewer
        .patch("/operators/ann", &json!({"max_load": 1}))
        .problem(403);
    viewer.delete("/sources/web").problem(403);
    viewer.put("/sources/web/weights", &json!([])).problem(403);
    viewer
        .post(
            &format!("/contacts/{id}/assign"),
            &json!({"operator_id": "ann", "reassign": true}),
        )
        .problem(403);

    // supervisor: everything.
    sup.post("/operators", &json!({"name": "bob"})).expect(201);
    sup.patch("/operators/bob", &json!({"max_load": 3}))
        .expect(200);
    sup.put("/sources/web/weights/bob", &json!({"weight": 2}))
        .expect(200);
    sup.post("/contacts", &json!({"source": "web", "email": "s@x.io"}))
        .expect(201);
    sup.post(&format!("/contacts/{id}/close"), &json!({}))
        .expect(200);
    sup.get("/contacts").expect(200);
    assert_eq!(
        Api::new(&server).with_token(&boss).get("/metrics").status,
        200
    );
    // Nothing the refused requests asked for happened.
    assert_eq!(
        names(&sup.get("/operators").expect(200)),
        set(["ann", "bob"])
    );
    assert_eq!(sup.get("/operators/ann").expect(200)["max_load"], 100);
    assert_eq!(contacts_in_file(&db).len(), 3);

    // The audit names the token for its writes.
    let audit = sup.get("/audit?filter=token:boss").expect(200);
    let by_boss: BTreeSet<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            assert_eq!(a["actor"], "token:boss", "{a}");
            a["action"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        by_boss,
        BTreeSet::from([
            "operator.create",
            "operator.update",
            "weight.set",
            "contact.close"
        ])
    );
    let first = sup.get("/audit?filter=source.create").expect(200);
    assert_eq!(first[0]["actor"], "api");

    // Revoked: refused once the cache second has passed.
    db.ok(&["token", "revoke", "form"]);
    eventually("the revoked token is refused", || {
        intake
            .post("/contacts", &json!({"source": "web", "email": "late@x.io"}))
            .status
            == 401
    });
    let r = intake.post(
        "/contacts",
        &json!({"source": "web", "email": "late2@x.io"}),
    );
    r.problem(401);
    assert!(r.header("www-authenticate").is_some());
    // The others still work.
    sup.get("/operators").expect(200);
    viewer.get("/operators").expect(200);

    server.stop_cleanly();
}

#[test]
fn listening_beyond_loopback_needs_a_token() {
    let db = Db::new();
    db.ok(&["init"]);
    let refused = match Server::start_on(&db, "0.0.0.0:0") {
        Ok(s) => panic!("serve listened on {} without a token", s.addr),
        Err(stopped) => stopped,
    };
    assert!(!refused.status.success(), "{refused:?}");
    assert!(refused.log.contains("token add"), "{}", refused.log);
    assert!(refused.log.starts_with("error: "), "{}", refused.log);
    assert_eq!(refused.log.lines().count(), 1, "{}", refused.log);
    common::assert_no_panic(&refused.log);

    let boss = token(&db, "boss", "supervisor");
    let server = Server::start_on(&db, "0.0.0.0:0").expect("serve with a token");
    assert!(server.addr.ip().is_unspecified(), "{}", server.addr);
    let (api, root) = clients(&server);
    root.get("/health").expect(200);
    api.get("/operators").problem(401);
    api.with_token(&boss).get("/operators").expect(200);
    server.stop_cleanly();
}

// ---------------------------------------------------------------- concurrency

/// One source and operators with the given (name, max_load, weight), through the
/// library.
fn roster(db: &Db, sources: &[&str], ops: &[(&str, u32, u32)]) {
    let mut s = store(db);
    for src in sources {
        s.add_source(src, "", Strategy::Weighted).unwrap();
    }
    for (name, max_load, weight) in ops {
        s.add_operator(name, *max_load, true).unwrap();
        for src in sources {
            s.set_weight(&EntityRef::parse(name), &EntityRef::parse(src), *weight)
                .unwrap();
        }
    }
}

#[test]
fn sixty_four_clients_fill_fifteen_slots_exactly() {
    const CLIENTS: usize = 64;
    const EACH: usize = 3;
    let db = Db::new();
    roster(&db, &["web"], &[("o1", 5, 1), ("o2", 5, 2), ("o3", 5, 3)]);
    let server = Server::start(&db);
    let (api, _) = clients(&server);

    let barrier = Barrier::new(CLIENTS);
    let replies: Vec<(u16, Value)> = thread::scope(|s| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|t| {
                let api = api.fresh();
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    (0..EACH)
                        .map(|i| {
                            let r = api.post(
                                "/contacts",
                                &json!({"source": "web", "email": format!("c{t}-{i}@x.io"),
                                        "idempotency_key": format!("c{t}-{i}")}),
                            );
                            (r.status, r.json())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("client thread"))
            .collect()
    });

    for (status, body) in &replies {
        assert_eq!(*status, 201, "{body}");
    }
    let acked: BTreeSet<i64> = replies
        .iter()
        .map(|(_, b)| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(acked.len(), CLIENTS * EACH, "every reply has its own id");
    let mut per_operator: BTreeMap<String, usize> = BTreeMap::new();
    for (_, b) in &replies {
        match b["operator"].as_str() {
            Some(op) => {
                assert_eq!(b["status"], "active", "{b}");
                *per_operator.entry(op.to_string()).or_default() += 1;
            }
            None => assert_eq!(
                (&b["status"], &b["operator_id"]),
                (&json!("waiting"), &Value::Null)
            ),
        }
    }
    let five_each: BTreeMap<String, usize> = ["o1", "o2", "o3"]
        .into_iter()
        .map(|o| (o.to_string(), 5))
        .collect();
    assert_eq!(per_operator, five_each, "exactly 15 routed, 5 each");

    // The operators as the API, the CLI and the library see them.
    for o in array(api.get("/operators").expect(200)) {
        assert_eq!((&o["load"], &o["max_load"]), (&json!(5), &json!(5)), "{o}");
    }
    for o in db.operators() {
        assert_eq!((&o["load"], &o["max_load"]), (&json!(5), &json!(5)), "{o}");
    }
    for o in reader(&db).operators().unwrap() {
        assert_eq!((o.load, o.max_load), (5, 5), "{o:?}");
    }
    // Every acknowledged contact is in the file once, as it was answered.
    let file = contacts_in_file(&db);
    assert_eq!(file.keys().copied().collect::<BTreeSet<_>>(), acked);
    for (_, b) in &replies {
        let (key, status, operator) = &file[&b["id"].as_i64().unwrap()];
        assert_eq!(key.as_deref(), b["idempotency_key"].as_str());
        assert_eq!(status, b["status"].as_str().unwrap());
        assert_eq!(*operator, b["operator_id"].as_i64());
    }
    assert_eq!(common::load_violations(&db.conn()), []);
    server.stop_cleanly();
}

#[test]
fn racing_clients_one_key_one_contact_one_assignment() {
    const RACERS: usize = 24;
    let db = Db::new();
    roster(
        &db,
        &["web"],
        &[("ann", 50, 1), ("bob", 50, 0), ("cy", 50, 0)],
    );
    store(&db).add_source("tg", "", Strategy::Weighted).unwrap();
    let server = Server::start(&db);
    let (api, _) = clients(&server);

    // One idempotency key from many clients at once: one contact, one 201.
    let barrier = Barrier::new(RACERS);
    let replies: Vec<(u16, Value)> = thread::scope(|s| {
        let racers: Vec<_> = (0..RACERS)
            .map(|i| {
                let (api, barrier) = (api.fresh(), &barrier);
                s.spawn(move || {
                    barrier.wait();
                    let r = api.post(
                        "/contacts",
                        &json!({"source": "web", "email": format!("r{i}@x.io"),
                                "idempotency_key": "the-same"}),
                    );
                    (r.status, r.json())
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let created = replies.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{replies:?}");
    let id = &replies[0].1["id"];
    for (status, body) in &replies {
        assert!(*status == 201 || *status == 200, "{status} {body}");
        assert_eq!(&body["id"], id, "{body}");
    }
    assert_eq!(contacts_in_file(&db).len(), 1);

    // A waiting contact assigned by many supervisors at once, each expecting it
    // still waiting: one wins, every other answer names the winner.
    let waiting = api
        .post("/contacts", &json!({"source": "tg", "email": "w@x.io"}))
        .expect(201);
    assert_eq!(waiting["status"], "waiting");
    let path = format!("/contacts/{}/assign", waiting["id"]);
    let barrier = Barrier::new(RACERS);
    let replies: Vec<(String, u16, Value)> = thread::scope(|s| {
        let racers: Vec<_> = (0..RACERS)
            .map(|i| {
                let (api, barrier, path) = (api.fresh(), &barrier, &path);
                let op = ["ann", "bob", "cy"][i % 3];
                s.spawn(move || {
                    barrier.wait();
                    let r = api.post(
                        path,
                        &json!({"operator_id": op, "expect_operator": null, "force": true}),
                    );
                    (op.to_string(), r.status, r.json())
                })
            })
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let winners: Vec<&(String, u16, Value)> = replies.iter().filter(|r| r.1 == 200).collect();
    assert_eq!(winners.len(), 1, "{replies:?}");
    let winner = &winners[0].0;
    assert_eq!(&winners[0].2["operator"], winner);
    for (_, status, body) in &replies {
        if *status != 200 {
            assert_eq!(*status, 409, "{body}");
            assert_eq!(&body["extra"]["operator"], winner, "{body}");
        }
    }
    assert_eq!(
        api.get(&format!("/contacts/{}", waiting["id"])).expect(200)["operator"],
        *winner
    );

    // Another process holding the write lock a moment: requests wait, then succeed.
    let conn = db.conn();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (posted, patched) = thread::scope(|s| {
        let post = s.spawn(|| {
            api.fresh()
                .post("/contacts", &json!({"source": "web", "email": "late@x.io"}))
                .status
        });
        let patch = s.spawn(|| {
            api.fresh()
                .patch("/operators/cy", &json!({"max_load": 60}))
                .status
        });
        thread::sleep(Duration::from_millis(300));
        // Neither got an answer (a 503, say) while the file was locked.
        assert!(!post.is_finished() && !patch.is_finished());
        conn.execute_batch("COMMIT").unwrap();
        (post.join().unwrap(), patch.join().unwrap())
    });
    assert_eq!((posted, patched), (201, 200));
    assert_eq!(common::load_violations(&db.conn()), []);
    server.stop_cleanly();
}

#[test]
fn serve_ingest_and_cli_edits_share_one_file() {
    const POSTERS: usize = 6;
    const POSTS: usize = 60;
    const INGESTS: usize = 2;
    const LINES: usize = 1000;
    let db = Db::new();
    let ops = [("o1", 2, 1), ("o2", 3, 2), ("o3", 2, 3), ("o4", 4, 1)];
    roster(&db, &["web", "tg"], &ops);
    let server = Server::start(&db);
    let (api, _) = clients(&server);
    let done = AtomicBool::new(false);

    let (http_acked, ingest_acked, closed, edits) = thread::scope(|s| {
        let posters: Vec<_> = (0..POSTERS)
            .map(|t| {
                let api = api.fresh();
                s.spawn(move || {
                    (0..POSTS)
                        .map(|i| {
                            let key = format!("h{t}-{i}");
                            let source = if i % 3 == 0 { "tg" } else { "web" };
                            let r = api.post(
                                "/contacts",
                                &json!({"source": source, "email": format!("{key}@x.io"),
                                        "idempotency_key": key}),
                            );
                            (r.expect(201)["id"].as_i64().unwrap(), key)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let ingests: Vec<_> = (0..INGESTS)
            .map(|p| {
                let input: String = (0..LINES)
                    .map(|i| {
                        let source = if i % 2 == 0 { "tg" } else { "web" };
                        format!(
                            "{{\"source\":\"{source}\",\"email\":\"i{p}-{i}@x.io\",\"idempotency_key\":\"i{p}-{i}\"}}\n"
                        )
                    })
                    .collect();
                let cmd = db.cmd(&["ingest", "--batch", "25"]);
                s.spawn(move || {
                    let out = common::run_with_stdin(cmd, input.as_bytes());
                    common::assert_success(&out, &("ingest", p));
                    let lines = common::json_lines(&out);
                    assert_eq!(lines.len(), LINES);
                    lines
                        .iter()
                        .enumerate()
                        .map(|(i, l)| {
                            assert!(l.get("error").is_none(), "{l}");
                            (l["id"].as_i64().expect("id"), format!("i{p}-{i}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // Closes active contacts over HTTP while the others run.
        let closer = {
            let api = api.fresh();
            let done = &done;
            s.spawn(move || {
                let mut closed = 0;
                while !done.load(Ordering::Relaxed) {
                    for id in ids(&api.get("/contacts?status=active&limit=3").expect(200)) {
                        let r = api.post(&format!("/contacts/{id}/close"), &json!({}));
                        match r.status {
                            200 => closed += 1,
                            // Closed by nobody else here, but be exact about why not.
                            _ => panic!("close #{id}: {} {}", r.status, r.text),
                        }
                    }
                    thread::sleep(Duration::from_millis(5));
                }
                closed
            })
        };
        // Roster edits through the CLI: off and on again, and more room; every round
        // leaves each operator active.
        let editor = {
            let db = &db;
            let done = &done;
            s.spawn(move || {
                let mut edits = 0;
                let mut round = 0u32;
                while !done.load(Ordering::Relaxed) || round < 2 {
                    for (name, max_load, _) in ops {
                        db.ok(&["operator", "set", name, "--active", "false"]);
                        let more = (max_load + round / 2).to_string();
                        db.ok(&[
                            "operator",
                            "set",
                            name,
                            "--active",
                            "true",
                            "--max-load",
                            &more,
                        ]);
                        edits += 2;
                    }
                    round += 1;
                }
                edits
            })
        };
        let http: Vec<(i64, String)> = posters
            .into_iter()
            .flat_map(|p| p.join().expect("poster"))
            .collect();
        let ingested: Vec<(i64, String)> = ingests
            .into_iter()
            .flat_map(|p| p.join().expect("ingest"))
            .collect();
        done.store(true, Ordering::Relaxed);
        (
            http,
            ingested,
            closer.join().expect("closer"),
            editor.join().expect("editor"),
        )
    });
    assert!(closed > 0 && edits >= 16, "closed {closed}, edits {edits}");

    // Nothing lost: every acknowledged contact is in the file with its key, and
    // nothing else is.
    let file = contacts_in_file(&db);
    let acked: BTreeMap<i64, String> = http_acked.into_iter().chain(ingest_acked).collect();
    assert_eq!(
        acked.len(),
        POSTERS * POSTS + INGESTS * LINES,
        "ids are unique"
    );
    assert_eq!(file.len(), acked.len());
    for (id, key) in &acked {
        assert_eq!(file[id].0.as_deref(), Some(key.as_str()), "#{id}");
    }
    // Limits hold, loads match the active contacts, and nothing waits while someone
    // could take it.
    let conn = db.conn();
    assert_eq!(common::load_violations(&conn), []);
    assert_eq!(common::idle_capacity(&conn), Vec::<String>::new());
    for o in db.operators() {
        assert!(o["load"].as_u64() <= o["max_load"].as_u64(), "{o}");
    }
    server.stop_cleanly();
}

#[test]
fn sigterm_under_load_keeps_every_acknowledged_contact() {
    const CLIENTS: usize = 8;
    let db = Db::new();
    roster(&db, &["web"], &[("o1", 40, 1), ("o2", 40, 1)]);
    let server = Server::start(&db);
    let (api, _) = clients(&server);
    let answered = AtomicUsize::new(0);
    let refused = Mutex::new(Vec::new());

    let acked: Vec<(i64, String)> = thread::scope(|s| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|t| {
                let api = api.fresh();
                let (answered, refused) = (&answered, &refused);
                s.spawn(move || {
                    let mut acked = Vec::new();
                    for i in 0.. {
                        // Half the clients send one contact a request, half ten.
                        let one = |j: usize| {
                            json!({"source": "web", "phone": format!("+1 555 {t}{i:04}{j}"),
                                   "idempotency_key": format!("t{t}-{i}-{j}")})
                        };
                        let (path, body) = if t % 2 == 0 {
                            ("/contacts", one(0))
                        } else {
                            ("/contacts/batch", Value::Array((0..10).map(one).collect()))
                        };
                        // A transport error: the server has stopped listening.
                        let Ok(r) = api.try_send(Method::POST, path, Some(body.to_string()), &[])
                        else {
                            break;
                        };
                        let stored: Vec<Value> = match (t % 2, r.status) {
                            (0, 201) => vec![r.json()],
                            (1, 200) => array(r.json()["results"].take())
                                .into_iter()
                                .map(|mut item| {
                                    assert_eq!(item["status"], 201, "{item}");
                                    item["contact"].take()
                                })
                                .collect(),
                            _ => {
                                refused.lock().unwrap().push((r.status, r.text));
                                continue;
                            }
                        };
                        for c in stored {
                            let key = c["idempotency_key"].as_str().unwrap().to_string();
                            acked.push((c["id"].as_i64().unwrap(), key));
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    acked
                })
            })
            .collect();
        eventually("the clients are under way", || {
            answered.load(Ordering::Relaxed) >= 300
        });
        server.terminate();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("client"))
            .collect()
    });
    let stopped = server.wait(common::server::PATIENCE);
    assert!(stopped.status.success(), "{stopped:?}");
    assert!(
        stopped.log.contains("switchboard: stopped"),
        "{}",
        stopped.log
    );
    common::server::assert_clean_log(&stopped.log);
    let refused = refused.into_inner().unwrap();
    assert_eq!(refused, [], "answers other than 201 while stopping");

    let file = contacts_in_file(&db);
    assert!(acked.len() >= 300);
    for (id, key) in &acked {
        let Some((stored_key, _, _)) = file.get(id) else {
            panic!("acknowledged #{id} ({key}) is not in the file");
        };
        assert_eq!(stored_key.as_deref(), Some(key.as_str()));
    }
    // Anything else stored was sent by a client here and committed as its connection
    // closed, unanswered; nothing is stored twice.
    let keys: BTreeSet<&str> = file.values().filter_map(|v| v.0.as_deref()).collect();
    assert_eq!(keys.len(), file.len());
    assert!(
        file.len() - acked.len() <= CLIENTS * 10,
        "{} stored, {} acknowledged",
        file.len(),
        acked.len()
    );
    assert_eq!(common::load_violations(&db.conn()), []);
}

// ---------------------------------------------------------------- the OpenAPI document

/// The routes `v1()` in src/server/mod.rs serves, read off its `routes!` lists.
const V1_ROUTES: [(&str, &str); 40] = [
    ("get", "/operators"),
    ("post", "/operators"),
    ("get", "/operators/{id}"),
    ("patch", "/operators/{id}"),
    ("delete", "/operators/{id}"),
    ("get", "/sources"),
    ("post", "/sources"),
    ("get", "/sources/{id}"),
    ("patch", "/sources/{id}"),
    ("delete", "/sources/{id}"),
    ("get", "/weights"),
    ("post", "/weights"),
    ("get", "/sources/{id}/weights"),
    ("put", "/sources/{id}/weights"),
    ("post", "/sources/{id}/weights"),
    ("get", "/sources/{id}/operators"),
    ("put", "/sources/{id}/operators"),
    ("post", "/sources/{id}/operators"),
    ("put", "/sources/{id}/weights/{operator}"),
    ("get", "/operator-weights"),
    ("post", "/operator-weights"),
    ("get", "/contacts"),
    ("post", "/contacts"),
    ("post", "/contacts/batch"),
    ("post", "/contacts/drain"),
    ("get", "/contacts/{id}"),
    ("post", "/contacts/{id}/assign"),
    ("post", "/contacts/{id}/close"),
    ("post", "/contacts/{id}/reopen"),
    ("patch", "/contacts/{id}/status"),
    ("get", "/leads"),
    ("get", "/leads/{id}"),
    ("get", "/stats"),
    ("get", "/audit"),
    ("get", "/requests"),
    ("post", "/requests"),
    ("get", "/requests/{id}"),
    ("patch", "/requests/{id}/status"),
    ("get", "/requests/leads/all"),
    ("get", "/requests/distribution/stats"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[test]
fn openapi_document_lists_what_the_router_serves() {
    let db = Db::new();
    let server = Server::start(&db);
    let (api, root) = clients(&server);
    // Every `{id}` of a probe below is 1 and exists: operator, source, contact, lead.
    // ann holds two contacts, so probing DELETE /operators/1 or /sources/1 (409)
    // changes nothing, whichever contact a probe closes.
    api.post("/sources", &json!({"name": "web"})).expect(201);
    api.post("/operators", &json!({"name": "ann"})).expect(201);
    api.put("/sources/web/weights/ann", &json!({"weight": 1}))
        .expect(200);
    for email in ["a@x.io", "b@x.io"] {
        api.post("/contacts", &json!({"source": "web", "email": email}))
            .expect(201);
    }

    let doc = root.get("/api/v1/openapi.json").expect(200);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3."),
        "{}",
        doc["openapi"]
    );
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if METHODS.contains(&method.as_str())
                || ["head", "options", "trace"].contains(&method.as_str())
            {
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    let mut served: BTreeSet<(String, String)> = V1_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), format!("/api/v1{p}")))
        .collect();
    served.insert(("get".into(), "/health".into()));
    served.insert(("get".into(), "/metrics".into()));
    assert_eq!(
        documented.difference(&served).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not in v1()"
    );
    assert_eq!(
        served.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "served but not documented"
    );
    for known in [
        ("post", "/api/v1/contacts"),
        ("post", "/api/v1/contacts/{id}/assign"),
        ("put", "/api/v1/sources/{id}/weights"),
        ("put", "/api/v1/sources/{id}/weights/{operator}"),
        ("get", "/api/v1/audit"),
        ("get", "/health"),
    ] {
        assert!(
            documented.contains(&(known.0.to_string(), known.1.to_string())),
            "{known:?} is not documented"
        );
    }

    // Every documented route answers its method (at each mount of the API), and a
    // method the document does not list on a path is 405.
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        let concrete = path.replace("{id}", "1").replace("{operator}", "1");
        let mounts = match concrete.strip_prefix("/api/v1") {
            Some(rest) => vec![concrete.clone(), format!("/api{rest}"), rest.to_string()],
            None => vec![concrete.clone()],
        };
        for method in METHODS {
            let listed = documented.contains(&(method.to_string(), path.clone()));
            let body = (method != "get" && method != "delete").then(|| "{}".to_string());
            for url in &mounts {
                let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let r = root.send(m, url, body.clone(), &[]);
                if listed {
                    assert!(
                        r.status != 404 && r.status != 405,
                        "{method} {url} (documented as {path}): {} {}",
                        r.status,
                        r.text
                    );
                } else {
                    r.problem(405);
                }
            }
        }
    }

    // The docs page, after its redirect.
    let docs = root.get("/docs");
    assert_eq!(docs.status, 200, "{}", docs.text);
    assert!(
        docs.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(docs.text.contains("swagger-ui"), "{}", docs.text);

    server.stop_cleanly();
}

/// Reads one HTTP/1.1 answer from `stream` (which the server closes after it) and
/// returns its status and body.
fn read_answer(stream: &mut std::net::TcpStream) -> (u16, String) {
    use std::io::Read;
    stream
        .set_read_timeout(Some(common::server::PATIENCE))
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read the answer");
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"));
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_string();
    (status, body)
}

/// Reads up to the end of one answer head (an interim `100 Continue`).
fn read_head(stream: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    stream
        .set_read_timeout(Some(common::server::PATIENCE))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("read an answer head");
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

#[test]
fn sigterm_finishes_requests_in_flight_and_does_not_wait_for_a_stalled_client() {
    use std::io::Write;
    use std::net::TcpStream;
    let db = Db::new();
    roster(&db, &["web"], &[("o1", 5, 1)]);
    let mut server = Server::start(&db);
    let (api, _) = clients(&server);
    api.get("/operators").expect(200);

    // A client that never finishes its request head.
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled
        .write_all(b"POST /api/v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Le")
        .unwrap();
    // A request in flight: its head is read (the server asks for the body with
    // `100 Continue` once the handler waits for it), its body not yet sent.
    let body = br#"{"source":"web","email":"late@x.io","idempotency_key":"in-flight"}"#;
    let mut in_flight = TcpStream::connect(server.addr).unwrap();
    let head = format!(
        "POST /api/v1/contacts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    in_flight.write_all(head.as_bytes()).unwrap();
    let interim = read_head(&mut in_flight);
    assert!(interim.starts_with("HTTP/1.1 100"), "{interim:?}");

    server.terminate();
    eventually("the server stops listening", || {
        server.log().contains("switchboard: stopping") && TcpStream::connect(server.addr).is_err()
    });
    assert_eq!(
        server.exited(),
        None,
        "stopped before the request in flight was answered"
    );
    // The body: the request is answered and its contact stored.
    in_flight.write_all(body).unwrap();
    let (status, answer) = read_answer(&mut in_flight);
    assert_eq!(status, 201, "{answer}");
    let id = serde_json::from_str::<Value>(&answer).unwrap()["id"]
        .as_i64()
        .unwrap();
    // The stalled client does not hold the server up (a bound well under its
    // 30-second request timeout).
    let stopped = server.wait(Duration::from_secs(10));
    assert!(stopped.status.success(), "{stopped:?}");
    common::server::assert_clean_log(&stopped.log);
    assert_eq!(contacts_in_file(&db)[&id].0.as_deref(), Some("in-flight"));
    drop(stalled);
}
