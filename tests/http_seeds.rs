//! The five older HTTP services ("seeds" 000..004, FastAPI on port 8000) replayed
//! against `switchboard serve`: for each, the requests its README shows (or, where it
//! lists only endpoints or a data model, the requests its clients would send with its
//! field names), in order, on a fresh file, checking what its README says happens and
//! the response fields its clients read.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::Db;
use reqwest::Method;
use reqwest::blocking::Client;
use serde_json::{Value, json};
use statrs::distribution::{ChiSquared, ContinuousCDF};

// ---------------------------------------------------------------- a running server

/// `switchboard --db F serve --listen 127.0.0.1:0` on a fresh file, with the routing
/// seed fixed (`SWITCHBOARD_SEED`, set by `common::bare_cmd`).
struct Server {
    child: Child,
    base: String,
    client: Client,
    log: Option<JoinHandle<String>>,
    _db: Db,
}

/// One answer: status, content type and the JSON body (`null` when there is none).
#[derive(Debug)]
struct Reply {
    what: String,
    status: u16,
    content_type: String,
    body: Value,
}

impl Reply {
    /// Asserts the status and returns the body.
    #[track_caller]
    fn expect(self, status: u16) -> Value {
        assert_eq!(
            self.status, status,
            "{}: expected {status}, got {} {}",
            self.what, self.status, self.body
        );
        self.body
    }

    /// Asserts an error answer: this status, problem+json, a `detail` for people.
    /// Returns the detail.
    #[track_caller]
    fn problem(self, status: u16) -> String {
        assert_eq!(
            self.content_type, "application/problem+json",
            "{}: {}",
            self.what, self.body
        );
        assert_eq!(self.body["status"], status, "{}: {}", self.what, self.body);
        let detail = self.body["detail"].as_str().unwrap_or_default().to_string();
        assert!(
            !detail.is_empty(),
            "{}: no detail: {}",
            self.what,
            self.body
        );
        self.expect(status);
        detail
    }
}

impl Server {
    fn start() -> Server {
        let db = Db::new();
        let mut child = db
            .cmd(&["serve", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn switchboard serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel::<Result<String, String>>();
        // Read until the "serving" line, then keep draining (a full pipe would stall
        // the server's request log) and hand back what came after, for `stop`.
        let log = std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            let mut seen = String::new();
            let mut rest = String::new();
            let mut told = false;
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if told {
                    rest.push_str(&line);
                    rest.push('\n');
                    continue;
                }
                seen.push_str(&line);
                seen.push('\n');
                if line.starts_with("switchboard: serving")
                    && let Some(at) = line.find("http://")
                {
                    let url: String = line[at..]
                        .chars()
                        .take_while(|c| !c.is_whitespace())
                        .collect();
                    let _ = tx.send(Ok(url));
                    told = true;
                }
            }
            if !told {
                let _ = tx.send(Err(seen));
            }
            rest
        });
        let base = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Ok(url)) => url,
            Ok(Err(stderr)) => {
                let _ = child.kill();
                panic!("serve did not start:\n{stderr}")
            }
            Err(_) => {
                let _ = child.kill();
                panic!("serve printed no 'serving' line within 30 s")
            }
        };
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        Server {
            child,
            base,
            client,
            log: Some(log),
            _db: db,
        }
    }

    fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let what = format!("{method} {path}");
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req
            .send()
            .unwrap_or_else(|e| panic!("{what}: no answer: {e}"));
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let text = res.text().unwrap_or_default();
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{what}: {status}, not JSON ({e}): {text}"))
        };
        Reply {
            what,
            status,
            content_type,
            body,
        }
    }

    fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None)
    }

    fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body))
    }

    fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body))
    }

    fn patch(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, path, Some(body))
    }

    /// SIGTERM; asserts the server stops cleanly and logged no panic.
    fn stop(mut self) {
        terminate(&self.child);
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait for serve") {
                break s;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        let log = self.log.take().map(|h| h.join().unwrap_or_default());
        let log = log.unwrap_or_default();
        assert!(status.success(), "serve exited with {status}:\n{log}");
        assert!(
            log.contains("switchboard: stopped"),
            "no clean stop in the log:\n{log}"
        );
        for marker in common::PANIC_MARKERS {
            assert!(!log.contains(marker), "panic text in the log:\n{log}");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(unix)]
fn terminate(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid fits pid_t");
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0, "kill -TERM {pid}");
}

#[cfg(not(unix))]
fn terminate(child: &Child) {
    let _ = std::process::Command::new("taskkill")
        .args(["/PID", &child.id().to_string()])
        .status();
}

// ---------------------------------------------------------------- small readers

#[track_caller]
fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

#[track_caller]
fn list(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        other => panic!("expected a JSON list, got {other}"),
    }
}

#[track_caller]
fn find(items: &[Value], key: &str, value: impl Into<Value>) -> Value {
    let value = value.into();
    items
        .iter()
        .find(|i| i[key] == value)
        .cloned()
        .unwrap_or_else(|| panic!("no item with {key} = {value} in {items:?}"))
}

/// Chi-square p-value of `counts` against the probabilities `expected`.
fn p_value(counts: &[u64], expected: &[f64]) -> f64 {
    let n: u64 = counts.iter().sum();
    let stat: f64 = counts
        .iter()
        .zip(expected)
        .map(|(&c, &p)| (c as f64 - p * n as f64).powi(2) / (p * n as f64))
        .sum();
    1.0 - ChiSquared::new((counts.len() - 1) as f64)
        .expect("degrees of freedom")
        .cdf(stat)
}

// ---------------------------------------------------------------- seed 000

/// Seed 000 documents its data model and algorithm, no paths (only Swagger): its
/// clients use the model's field names (`is_active`, `max_load`, `current_load`,
/// `external_id`, `message`) on unprefixed paths. A lead is found by external_id; a
/// contact nobody can take is created without an operator and stays `new` until a
/// person distributes it.
#[test]
fn seed_000_lead_by_external_id_and_unassigned_contacts() {
    let s = Server::start();

    let anna = s
        .post(
            "/operators",
            json!({"name": "Anna", "is_active": true, "max_load": 1}),
        )
        .expect(201);
    assert_eq!(anna["is_active"], true);
    assert_eq!(anna["max_load"], 1);
    assert_eq!(anna["current_load"], 0);
    // No weight for the source: never routed to, may be given a contact by hand.
    let boris = s
        .post(
            "/operators",
            json!({"name": "Boris", "is_active": true, "max_load": 3}),
        )
        .expect(201);
    let src = s.post("/sources", json!({"name": "telegram"})).expect(201);
    assert_eq!(src["name"], "telegram");
    // An OperatorSourceAssignment row: {operator_id, source_id, weight}.
    let cell = s
        .post(
            "/weights",
            json!({"operator_id": id(&anna), "source_id": id(&src), "weight": 10}),
        )
        .expect(200);
    assert_eq!(cell["weight"], 10);

    let first = s
        .post(
            "/contacts",
            json!({"external_id": "ext-1", "email": "a@x.io", "phone": "+7 900 000-00-01",
                   "source_id": id(&src), "message": "hello"}),
        )
        .expect(201);
    assert_eq!(first["operator_id"], id(&anna));
    assert_eq!(first["status"], "active");
    assert_eq!(first["message"], "hello");
    assert_eq!(first["lead"]["external_id"], "ext-1");

    // Anna is at max_load (current_load 1, not < 1): the next contact of the same
    // lead (found by external_id, whatever the email) gets no operator.
    let anna_now = s.get(&format!("/operators/{}", id(&anna))).expect(200);
    assert_eq!(anna_now["current_load"], 1);
    let second = s
        .post(
            "/contacts",
            json!({"external_id": "ext-1", "email": "other@x.io",
                   "source_id": id(&src), "message": "again"}),
        )
        .expect(201);
    assert_eq!(
        second["lead_id"], first["lead_id"],
        "one lead per external_id"
    );
    assert_eq!(second["operator_id"], Value::Null);
    assert_eq!(second["status"], "waiting");

    // 000's `new` (no operator yet) is our `waiting`.
    let new = list(s.get("/contacts?status=new").expect(200));
    assert_eq!(new.len(), 1, "{new:?}");
    assert_eq!(new[0]["id"], second["id"]);

    // Distribution by hand.
    let assigned = s
        .post(
            &format!("/contacts/{}/assign", id(&second)),
            json!({"operator_id": id(&boris)}),
        )
        .expect(200);
    assert_eq!(assigned["operator_id"], id(&boris));
    assert_eq!(assigned["operator_name"], "Boris");
    assert_eq!(assigned["status"], "active");
    assert!(list(s.get("/contacts?status=new").expect(200)).is_empty());

    let leads = list(s.get("/leads").expect(200));
    assert_eq!(leads.len(), 1, "{leads:?}");
    assert_eq!(leads[0]["external_id"], "ext-1");
    assert_eq!(leads[0]["contacts"].as_array().map(Vec::len), Some(2));
    let ops = list(s.get("/operators").expect(200));
    assert_eq!(find(&ops, "name", "Anna")["current_load"], 1);
    assert_eq!(find(&ops, "name", "Boris")["current_load"], 1);
    s.stop();
}

// ---------------------------------------------------------------- seed 001

/// Seed 001: `/api/...`; operators with `is_active` and `max_load_limit`; weights
/// per source by `POST /api/sources/{id}/operators`; contacts by `email` and
/// `source_id`, one lead per email; leads listed with their contacts.
#[test]
fn seed_001_api_prefix_email_leads_and_limits() {
    let s = Server::start();

    let op1 = s
        .post(
            "/api/operators",
            json!({"name": "operator1", "is_active": true, "max_load_limit": 2}),
        )
        .expect(201);
    assert_eq!(op1["is_active"], true);
    assert_eq!(op1["max_load_limit"], 2);
    let op2 = s
        .post(
            "/api/operators",
            json!({"name": "operator2", "is_active": true, "max_load_limit": 2}),
        )
        .expect(201);
    let ops = list(s.get("/api/operators").expect(200));
    assert_eq!(ops.len(), 2);
    for o in &ops {
        assert_eq!(o["is_active"], true, "{o}");
        assert_eq!(o["max_load_limit"], 2, "{o}");
    }

    let a = s
        .post(
            "/api/sources",
            json!({"name": "source A", "description": "landing bot"}),
        )
        .expect(201);
    assert_eq!(a["description"], "landing bot");
    assert_eq!(list(s.get("/api/sources").expect(200)).len(), 1);

    // The README's example: weights 10 and 30 are shares of 25% and 75%.
    let set = list(
        s.post(
            &format!("/api/sources/{}/operators", id(&a)),
            json!([{"operator_id": id(&op1), "weight": 10},
                   {"operator_id": id(&op2), "weight": 30}]),
        )
        .expect(200),
    );
    assert_eq!(set.len(), 2);
    assert_eq!(find(&set, "operator_id", id(&op1))["weight"], 10);
    assert_eq!(find(&set, "operator_id", id(&op2))["weight"], 30);
    let stats = list(s.get("/api/stats").expect(200));
    let shares = stats[0]["operators"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        find(&shares, "operator_id", id(&op1))["configured_share"],
        0.25
    );
    assert_eq!(
        find(&shares, "operator_id", id(&op2))["configured_share"],
        0.75
    );

    // Only active operators take contacts.
    let off = s
        .patch(
            &format!("/api/operators/{}", id(&op1)),
            json!({"is_active": false}),
        )
        .expect(200);
    assert_eq!(off["is_active"], false);
    assert_eq!(off["max_load_limit"], 2, "an absent field stays");

    let c1 = s
        .post(
            "/api/contacts",
            json!({"email": "Lead@Example.com", "source_id": id(&a)}),
        )
        .expect(201);
    assert_eq!(c1["operator_id"], id(&op2));
    assert_eq!(c1["status"], "active");
    let c2 = s
        .post(
            "/api/contacts",
            json!({"email": "lead@example.com", "source_id": id(&a)}),
        )
        .expect(201);
    assert_eq!(c2["lead_id"], c1["lead_id"], "one lead per email");
    assert_eq!(c2["operator_id"], id(&op2));
    // operator1 inactive, operator2 at its limit: no operator.
    let c3 = s
        .post(
            "/api/contacts",
            json!({"email": "second@example.com", "source_id": id(&a)}),
        )
        .expect(201);
    assert_eq!(c3["operator_id"], Value::Null);
    assert_ne!(c3["lead_id"], c1["lead_id"]);

    // "...or automatic processing when operators become available": operator1 comes
    // back and takes the waiting contact at once.
    let back = s
        .patch(
            &format!("/api/operators/{}", id(&op1)),
            json!({"is_active": true, "max_load_limit": 1}),
        )
        .expect(200);
    assert_eq!(back["max_load_limit"], 1);
    assert_eq!(back["current_load"], 1);
    let contacts = list(s.get("/api/contacts").expect(200));
    assert_eq!(contacts.len(), 3);
    assert_eq!(find(&contacts, "id", id(&c3))["operator_id"], id(&op1));
    for o in list(s.get("/api/operators").expect(200)) {
        assert!(
            o["current_load"].as_u64() <= o["max_load_limit"].as_u64(),
            "{o}"
        );
    }

    let leads = list(s.get("/api/leads").expect(200));
    assert_eq!(leads.len(), 2);
    let lead = find(&leads, "email", "lead@example.com");
    assert_eq!(lead["contacts"].as_array().map(Vec::len), Some(2));

    // A field 001 does not know, and neither do we: refused, not dropped.
    let detail = s
        .post(
            "/api/contacts",
            json!({"email": "x@example.com", "source_id": id(&a), "utm": "spring"}),
        )
        .problem(422);
    assert!(detail.contains("utm"), "{detail}");
    assert_eq!(list(s.get("/api/contacts").expect(200)).len(), 3);
    s.stop();
}

// ---------------------------------------------------------------- seed 002

/// Seed 002: unprefixed paths with trailing slashes; operators with
/// `max_active_leads` and their load; one weight cell per `POST /operator-weights/`;
/// leads matched by external_id, then phone, then email; statuses `new`,
/// `in_progress`, `completed` by `PATCH /contacts/{id}/status`.
#[test]
fn seed_002_trailing_slashes_lead_matching_and_status_words() {
    let s = Server::start();

    let mut ops = Vec::new();
    for name in ["Ivan", "Olga", "Nina"] {
        let o = s
            .post(
                "/operators/",
                json!({"name": name, "is_active": true, "max_active_leads": 3}),
            )
            .expect(201);
        assert_eq!(o["max_active_leads"], 3);
        assert_eq!(o["current_load"], 0);
        ops.push(o);
    }
    let (ivan, olga, nina) = (id(&ops[0]), id(&ops[1]), id(&ops[2]));
    let listed = list(s.get("/operators/").expect(200));
    assert_eq!(listed.len(), 3);
    for o in &listed {
        assert_eq!(o["max_active_leads"], 3, "{o}");
        assert_eq!(o["is_active"], true, "{o}");
        assert!(o["current_load"].is_u64(), "{o}");
    }

    let site = s
        .post(
            "/sources/",
            json!({"name": "site", "description": "landing form"}),
        )
        .expect(201);
    assert_eq!(site["description"], "landing form");
    assert_eq!(list(s.get("/sources/").expect(200)).len(), 1);

    // Nina has no weight for the site: she is no candidate.
    for (op, weight) in [(ivan, 1), (olga, 3)] {
        let w = s
            .post(
                "/operator-weights/",
                json!({"operator_id": op, "source_id": id(&site), "weight": weight}),
            )
            .expect(200);
        assert_eq!(w["weight"], weight);
        assert_eq!(w["operator_id"], op);
        assert_eq!(w["source_id"], id(&site));
    }
    let weights = list(s.get("/operator-weights/").expect(200));
    assert_eq!(weights.len(), 2);

    let contact = |body: Value| s.post("/contacts/", body).expect(201);
    let src = id(&site);
    let c1 = contact(
        json!({"source_id": src, "message": "m1", "external_id": "crm-1",
                            "phone": "+7 900 111-22-33", "name": "Petr"}),
    );
    assert_eq!(c1["lead"]["external_id"], "crm-1");
    assert_eq!(c1["lead"]["name"], "Petr");
    // By phone (written differently).
    let c2 = contact(json!({"source_id": src, "message": "m2", "phone": "+79001112233"}));
    assert_eq!(c2["lead_id"], c1["lead_id"]);
    // An email nobody has: a new lead.
    let c3 = contact(json!({"source_id": src, "message": "m3", "email": "petr@mail.ru"}));
    assert_ne!(c3["lead_id"], c1["lead_id"]);
    // external_id comes before email.
    let c4 = contact(
        json!({"source_id": src, "message": "m4", "external_id": "crm-1", "email": "petr@mail.ru"}),
    );
    assert_eq!(c4["lead_id"], c1["lead_id"]);
    // By email.
    let c5 = contact(json!({"source_id": src, "message": "m5", "email": "PETR@mail.ru"}));
    assert_eq!(c5["lead_id"], c3["lead_id"]);

    let all = [&c1, &c2, &c3, &c4, &c5];
    for c in all {
        let op = c["operator_id"].as_i64();
        assert!(op == Some(ivan) || op == Some(olga), "{c}");
        assert_eq!(c["status"], "active", "{c}");
    }
    let load_of = |op: i64| {
        find(&list(s.get("/operators/").expect(200)), "id", op)["current_load"]
            .as_u64()
            .expect("current_load")
    };
    assert_eq!(load_of(ivan) + load_of(olga), 5);
    assert_eq!(load_of(nina), 0);

    // The status words.
    let path = format!("/contacts/{}/status", id(&c1));
    let holder = c1["operator_id"].as_i64().expect("routed");
    let before = load_of(holder);
    let c = s.patch(&path, json!({"status": "in_progress"})).expect(200);
    assert_eq!(c["status"], "active");
    // `new` on a contact with an operator: still open, still its load.
    let c = s.patch(&path, json!({"status": "new"})).expect(200);
    assert_eq!(c["status"], "active");
    assert_eq!(c["operator_id"], holder);
    assert_eq!(load_of(holder), before);
    let c = s
        .patch(&format!("{path}/"), json!({"status": "completed"}))
        .expect(200);
    assert_eq!(c["status"], "closed");
    assert_eq!(load_of(holder), before - 1, "completed no longer counts");
    let detail = s.patch(&path, json!({"status": "archived"})).problem(422);
    assert!(detail.contains("in_progress"), "{detail}");

    let contacts = list(s.get("/contacts/").expect(200));
    assert_eq!(contacts.len(), 5);
    let leads = list(s.get("/leads/").expect(200));
    assert_eq!(leads.len(), 2);
    let by_ext = find(&leads, "external_id", "crm-1");
    assert_eq!(by_ext["contacts"].as_array().map(Vec::len), Some(3));
    assert_eq!(by_ext["phone"], "+79001112233");
    assert_eq!(
        by_ext["email"],
        Value::Null,
        "petr@mail.ru belongs to the other lead"
    );
    let by_email = find(&leads, "email", "petr@mail.ru");
    assert_eq!(by_email["contacts"].as_array().map(Vec::len), Some(2));
    s.stop();
}

// ---------------------------------------------------------------- seed 003

/// Seed 003: `/api/v1/...`; operators with `max_active_contacts`; sources with a
/// unique `code`; a source's whole weight set by `PUT /api/v1/sources/{id}/operators`;
/// contacts with a nested `lead` (glued by `lead.external_id`) and a `payload`.
#[test]
fn seed_003_nested_lead_payload_and_put_weights() {
    let s = Server::start();

    let op = |name: &str, active: bool, max: u32| {
        let o = s
            .post(
                "/api/v1/operators",
                json!({"name": name, "is_active": active, "max_active_contacts": max}),
            )
            .expect(201);
        assert_eq!(o["max_active_contacts"], max);
        assert_eq!(o["is_active"], active);
        id(&o)
    };
    let a = op("Op A", true, 2);
    let b = op("Op B", false, 5);
    let c = op("Op C", true, 5);
    assert_eq!(list(s.get("/api/v1/operators").expect(200)).len(), 3);

    let tg = s
        .post(
            "/api/v1/sources",
            json!({"code": "tg_main", "name": "Telegram main"}),
        )
        .expect(201);
    assert_eq!(tg["code"], "tg_main");
    let sources = list(s.get("/api/v1/sources").expect(200));
    assert_eq!(sources[0]["code"], "tg_main");
    let taken = s
        .post(
            "/api/v1/sources",
            json!({"code": "tg_main", "name": "Telegram again"}),
        )
        .problem(409);
    assert!(taken.contains("tg_main"), "{taken}");

    // Only weight > 0 and is_active take part: A alone.
    let set = list(
        s.put(
            &format!("/api/v1/sources/{}/operators", id(&tg)),
            json!([{"operator_id": a, "weight": 1}, {"operator_id": b, "weight": 5},
                   {"operator_id": c, "weight": 0}]),
        )
        .expect(200),
    );
    assert_eq!(find(&set, "operator_id", a)["weight"], 1);
    assert_eq!(find(&set, "operator_id", b)["weight"], 5);

    let first = s
        .post(
            "/api/v1/contacts",
            json!({"source_id": id(&tg),
                   "lead": {"external_id": "tg-100", "phone": "+1 555 0100"},
                   "payload": {"text": "hi", "chat_id": 100}}),
        )
        .expect(201);
    assert_eq!(first["operator_id"], a);
    assert_eq!(first["lead"]["external_id"], "tg-100");
    // The lead as stored: the phone normalized.
    assert_eq!(first["lead"]["phone"], "+15550100");
    assert_eq!(first["payload"], json!({"text": "hi", "chat_id": 100}));
    let second = s
        .post(
            "/api/v1/contacts",
            json!({"source_code": "tg_main", "lead": {"external_id": "tg-100"},
                   "payload": "second"}),
        )
        .expect(201);
    assert_eq!(
        second["lead_id"], first["lead_id"],
        "glued by lead.external_id"
    );
    assert_eq!(second["payload"], "second");
    assert_eq!(second["operator_id"], a);
    // A is at max_active_contacts, B inactive, C weight 0: operator_id null.
    let third = s
        .post(
            "/api/v1/contacts",
            json!({"source_id": id(&tg),
                   "lead": {"external_id": "tg-200", "email": "x@y.z"},
                   "payload": "third"}),
        )
        .expect(201);
    assert_eq!(third["operator_id"], Value::Null);
    assert_eq!(third["lead"]["email"], "x@y.z");

    // The set again, as an object; C joins and takes the waiting contact.
    let set = list(
        s.put(
            &format!("/api/v1/sources/{}/operators", id(&tg)),
            json!({"operators": [{"operator_id": a, "weight": 1},
                                 {"operator_id": c, "weight": 1}]}),
        )
        .expect(200),
    );
    assert_eq!(set.len(), 2, "B is out of the set: {set:?}");
    let detail = s
        .put(
            &format!("/api/v1/sources/{}/operators", id(&tg)),
            json!({"operators": [{"operator_id": a, "weight": 1}], "mode": "merge"}),
        )
        .problem(422);
    assert!(detail.contains("mode"), "{detail}");
    let leads = list(s.get("/api/v1/leads").expect(200));
    assert_eq!(leads.len(), 2);
    let glued = find(&leads, "external_id", "tg-100");
    let contacts = glued["contacts"].as_array().cloned().unwrap_or_default();
    assert_eq!(contacts.len(), 2);
    assert_eq!(
        find(&contacts, "id", id(&first))["payload"],
        json!({"text": "hi", "chat_id": 100})
    );
    let other = find(&leads, "external_id", "tg-200");
    assert_eq!(other["contacts"][0]["operator_id"], c);

    // A lead field 003 does not have: refused with the field named.
    let detail = s
        .post(
            "/api/v1/contacts",
            json!({"source_id": id(&tg), "lead": {"external_id": "tg-300", "telegram": "@x"}}),
        )
        .problem(422);
    assert!(detail.contains("telegram"), "{detail}");
    s.stop();
}

// ---------------------------------------------------------------- seed 004

/// Seed 004's "API Endpoints" section, every example in order.
#[test]
fn seed_004_api_reference_in_order() {
    let s = Server::start();

    let john = s
        .post(
            "/operators",
            json!({"name": "John Doe", "is_active": true, "max_load": 10}),
        )
        .expect(201);
    assert_eq!(john["name"], "John Doe");
    assert_eq!(john["is_active"], true);
    assert_eq!(john["max_load"], 10);
    let john_id = id(&john);
    assert_eq!(list(s.get("/operators").expect(200)).len(), 1);
    assert_eq!(
        s.get(&format!("/operators/{john_id}")).expect(200)["name"],
        "John Doe"
    );
    let patched = s
        .patch(
            &format!("/operators/{john_id}"),
            json!({"is_active": false, "max_load": 15}),
        )
        .expect(200);
    assert_eq!(patched["is_active"], false);
    assert_eq!(patched["max_load"], 15);

    let tg = s
        .post(
            "/sources",
            json!({"name": "Telegram Bot", "description": "Main Telegram channel"}),
        )
        .expect(201);
    assert_eq!(tg["description"], "Main Telegram channel");
    let tg_id = id(&tg);
    assert_eq!(list(s.get("/sources").expect(200)).len(), 1);

    // The example names operators 2 and 3, which do not exist yet: refused as a
    // whole, nothing replaced.
    let weights = json!([{"operator_id": 1, "weight": 10}, {"operator_id": 2, "weight": 30},
                         {"operator_id": 3, "weight": 60}]);
    let detail = s
        .post(&format!("/sources/{tg_id}/weights"), weights.clone())
        .problem(404);
    assert!(detail.contains("#2"), "{detail}");
    assert!(
        list(s.get(&format!("/sources/{tg_id}/weights")).expect(200)).is_empty(),
        "a refused set changes nothing"
    );
    for name in ["Mary Major", "Rick Roe"] {
        s.post(
            "/operators",
            json!({"name": name, "is_active": true, "max_load": 10}),
        )
        .expect(201);
    }
    // A field of a weight item we do not keep: refused, named.
    let detail = s
        .post(
            &format!("/sources/{tg_id}/weights"),
            json!([{"operator_id": 1, "weight": 10, "priority": 2}]),
        )
        .problem(422);
    assert!(detail.contains("priority"), "{detail}");
    let set = list(
        s.post(&format!("/sources/{tg_id}/weights"), weights)
            .expect(200),
    );
    assert_eq!(set.len(), 3);
    let got = list(s.get(&format!("/sources/{tg_id}/weights")).expect(200));
    for (op, w) in [(1, 10), (2, 30), (3, 60)] {
        assert_eq!(find(&got, "operator_id", op)["weight"], w);
    }

    let req = s
        .post(
            "/requests",
            json!({"lead_external_id": "customer_12345", "source_id": tg_id,
                   "message": "I have a question about pricing", "lead_name": "Jane Smith",
                   "lead_email": "jane@example.com", "lead_phone": "+1234567890"}),
        )
        .expect(201);
    // The documented response: id, lead_id, source_id, operator_id, operator_name,
    // status, message, created_at.
    let op = req["operator_id"]
        .as_i64()
        .expect("John is inactive; 2 or 3 is free");
    assert!(op == 2 || op == 3, "{req}");
    let names = list(s.get("/operators").expect(200));
    assert_eq!(req["operator_name"], find(&names, "id", op)["name"]);
    assert_eq!(req["status"], "active");
    assert_eq!(req["message"], "I have a question about pricing");
    assert_eq!(req["source_id"], tg_id);
    assert_eq!(req["lead_external_id"], "customer_12345");
    assert!(req["lead_id"].is_i64(), "{req}");
    assert!(
        req["created_at"].as_str().is_some_and(|t| t.contains('T')),
        "{req}"
    );

    assert_eq!(list(s.get("/requests").expect(200)).len(), 1);
    assert_eq!(
        list(s.get(&format!("/requests?source_id={tg_id}")).expect(200)).len(),
        1
    );
    assert_eq!(
        list(s.get(&format!("/requests?operator_id={op}")).expect(200)).len(),
        1
    );
    assert!(list(s.get("/requests?operator_id=1").expect(200)).is_empty());

    let before = s.get(&format!("/operators/{op}")).expect(200);
    assert_eq!(before["current_load"], 1);
    let closed = s
        .call(
            Method::PATCH,
            &format!("/requests/{}/status?status=closed", id(&req)),
            None,
        )
        .expect(200);
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        s.get(&format!("/operators/{op}")).expect(200)["current_load"],
        0,
        "closing reduces the operator's current load"
    );

    // "one lead can have multiple requests from different sources"
    let wa = id(&s.post("/sources", json!({"name": "WhatsApp"})).expect(201));
    s.post(
        &format!("/sources/{wa}/weights"),
        json!([{"operator_id": 2, "weight": 1}]),
    )
    .expect(200);
    let again = s
        .post(
            "/requests",
            json!({"lead_external_id": "customer_12345", "source_id": wa, "message": "me again"}),
        )
        .expect(201);
    assert_eq!(again["lead_id"], req["lead_id"]);
    let leads = list(s.get("/requests/leads/all").expect(200));
    assert_eq!(leads.len(), 1);
    let jane = &leads[0];
    assert_eq!(jane["external_id"], "customer_12345");
    assert_eq!(jane["name"], "Jane Smith");
    assert_eq!(jane["email"], "jane@example.com");
    assert_eq!(jane["phone"], "+1234567890");
    let sources: Vec<&Value> = jane["contacts"]
        .as_array()
        .map(|a| a.iter().map(|c| &c["source_id"]).collect())
        .unwrap_or_default();
    assert_eq!(sources.len(), 2);
    assert_ne!(sources[0], sources[1]);

    let stats = list(s.get("/requests/distribution/stats").expect(200));
    let tg_stats = find(&stats, "source_id", tg_id);
    assert_eq!(tg_stats["total"], 1);
    let per_op = tg_stats["operators"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(find(&per_op, "operator_id", op)["count"], 1);
    assert_eq!(find(&stats, "source_id", wa)["total"], 1);

    // "This endpoint replaces all existing weight configurations for the source."
    s.post(
        &format!("/sources/{tg_id}/weights"),
        json!([{"operator_id": 2, "weight": 50}]),
    )
    .expect(200);
    let got = list(s.get(&format!("/sources/{tg_id}/weights")).expect(200));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["operator_id"], 2);
    assert_eq!(got[0]["weight"], 50);
    s.stop();
}

/// Seed 004's "Example Usage Scenario": its curls in order.
#[test]
fn seed_004_example_usage_scenario() {
    let s = Server::start();
    let alice = s
        .post(
            "/operators",
            json!({"name": "Alice", "is_active": true, "max_load": 5}),
        )
        .expect(201);
    let bob = s
        .post(
            "/operators",
            json!({"name": "Bob", "is_active": true, "max_load": 10}),
        )
        .expect(201);
    assert_eq!(
        (id(&alice), id(&bob)),
        (1, 2),
        "the curls name them 1 and 2"
    );
    let src = s
        .post(
            "/sources",
            json!({"name": "Telegram Bot", "description": "Main support channel"}),
        )
        .expect(201);
    assert_eq!(id(&src), 1);
    let set = list(
        s.post(
            "/sources/1/weights",
            json!([{"operator_id": 1, "weight": 30}, {"operator_id": 2, "weight": 70}]),
        )
        .expect(200),
    );
    assert_eq!(set.len(), 2);
    let req = s
        .post(
            "/requests",
            json!({"lead_external_id": "customer_001", "source_id": 1,
                   "message": "Need help with setup", "lead_name": "John Customer"}),
        )
        .expect(201);
    let op = req["operator_id"].as_i64().expect("routed");
    assert_eq!(
        req["operator_name"],
        if op == 1 { "Alice" } else { "Bob" },
        "{req}"
    );
    assert_eq!(req["status"], "active");
    assert_eq!(req["message"], "Need help with setup");
    assert_eq!(req["lead"]["name"], "John Customer");

    let stats = list(s.get("/requests/distribution/stats").expect(200));
    assert_eq!(stats.len(), 1);
    let per_op = stats[0]["operators"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(find(&per_op, "operator_id", 1)["configured_share"], 0.3);
    assert_eq!(find(&per_op, "operator_id", 2)["configured_share"], 0.7);
    assert_eq!(find(&per_op, "operator_id", op)["count"], 1);
    assert_eq!(
        find(&per_op, "operator_id", op)["operator_name"],
        req["operator_name"]
    );
    s.stop();
}

/// "Test Weighted Distribution": weights 20 and 80, 100 requests, ~20% / ~80%:
/// a chi-square goodness-of-fit test on the seeded server's counts.
#[test]
fn seed_004_weighted_distribution_20_80() {
    let s = Server::start();
    for name in ["First", "Second"] {
        // Room for every request: the limit must not shape the split.
        s.post(
            "/operators",
            json!({"name": name, "is_active": true, "max_load": 100}),
        )
        .expect(201);
    }
    s.post("/sources", json!({"name": "Bot"})).expect(201);
    s.post(
        "/sources/1/weights",
        json!([{"operator_id": 1, "weight": 20}, {"operator_id": 2, "weight": 80}]),
    )
    .expect(200);
    let mut counts = [0u64; 2];
    for i in 0..100 {
        let r = s
            .post(
                "/requests",
                json!({"lead_external_id": format!("c{i}"), "source_id": 1, "message": "hi"}),
            )
            .expect(201);
        match r["operator_id"].as_i64() {
            Some(1) => counts[0] += 1,
            Some(2) => counts[1] += 1,
            other => panic!("request {i} went to {other:?}: {r}"),
        }
    }
    let stats = list(s.get("/requests/distribution/stats").expect(200));
    let per_op = stats[0]["operators"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(find(&per_op, "operator_id", 1)["count"], counts[0]);
    assert_eq!(find(&per_op, "operator_id", 2)["count"], counts[1]);
    assert_eq!(stats[0]["total"], 100);
    let p = p_value(&counts, &[0.2, 0.8]);
    eprintln!("20/80 over 100 requests: {counts:?}, chi-square p = {p:.3}");
    assert!(
        p > 0.001,
        "{counts:?} does not fit 20/80 (chi-square p = {p:.2e})"
    );
    s.stop();
}

/// "Test Load Limits": max_load = 2, three requests, the third unassigned (201,
/// `operator_id: null`); closing one frees a slot. switchboard drains at once: the
/// waiting request takes the freed slot when it is freed, so the limit is never
/// exceeded and nobody waits while a slot is free. A request arriving while nothing
/// waits goes straight to the operator, as the README's step 5 says.
#[test]
fn seed_004_load_limits() {
    let s = Server::start();
    let op = id(&s
        .post(
            "/operators",
            json!({"name": "Solo", "is_active": true, "max_load": 2}),
        )
        .expect(201));
    s.post("/sources", json!({"name": "Bot"})).expect(201);
    s.post(
        "/sources/1/weights",
        json!([{"operator_id": op, "weight": 1}]),
    )
    .expect(200);
    let request = |n: u32| {
        s.post(
            "/requests",
            json!({"lead_external_id": format!("lead-{n}"), "source_id": 1,
                   "message": format!("request {n}")}),
        )
        .expect(201)
    };
    // The limit holds and no request waits beside a free slot.
    let check = || {
        let o = s.get(&format!("/operators/{op}")).expect(200);
        let load = o["current_load"].as_u64().expect("current_load");
        let waiting = list(s.get("/requests?status=waiting").expect(200)).len();
        assert!(load <= 2, "over the limit: {o}");
        assert!(
            waiting == 0 || load == 2,
            "{waiting} waiting beside a free slot: {o}"
        );
        (load, waiting)
    };

    let r1 = request(1);
    let r2 = request(2);
    assert_eq!(r1["operator_id"], op);
    assert_eq!(r2["operator_id"], op);
    assert_eq!(check(), (2, 0));
    let r3 = request(3);
    assert_eq!(r3["operator_id"], Value::Null, "after the 2nd: no more");
    assert_eq!(r3["operator_name"], Value::Null);
    assert_eq!(check(), (2, 1));

    let closed = s
        .call(
            Method::PATCH,
            &format!("/requests/{}/status?status=closed", id(&r1)),
            None,
        )
        .expect(200);
    assert_eq!(closed["status"], "closed");
    // The freed slot went to the waiting request.
    let r3_now = s.get(&format!("/requests/{}", id(&r3))).expect(200);
    assert_eq!(r3_now["operator_id"], op, "{r3_now}");
    assert_eq!(r3_now["status"], "active");
    assert_eq!(check(), (2, 0));

    // Full again: the next one waits (201, null) until a slot frees.
    let r4 = request(4);
    assert_eq!(r4["operator_id"], Value::Null);
    assert_eq!(check(), (2, 1));
    s.call(
        Method::PATCH,
        &format!("/requests/{}/status?status=closed", id(&r2)),
        None,
    )
    .expect(200);
    assert_eq!(
        s.get(&format!("/requests/{}", id(&r4))).expect(200)["operator_id"],
        op
    );
    assert_eq!(check(), (2, 0));

    // Nothing waits: close one, and the next request goes to the operator.
    s.call(
        Method::PATCH,
        &format!("/requests/{}/status?status=closed", id(&r3)),
        None,
    )
    .expect(200);
    assert_eq!(check(), (1, 0));
    let r5 = request(5);
    assert_eq!(r5["operator_id"], op);
    assert_eq!(r5["operator_name"], "Solo");
    assert_eq!(check(), (2, 0));
    s.stop();
}

/// "Test Multiple Sources": weight 100 for source A, 0 for source B.
#[test]
fn seed_004_multiple_sources() {
    let s = Server::start();
    let op = id(&s
        .post(
            "/operators",
            json!({"name": "Agent", "is_active": true, "max_load": 10}),
        )
        .expect(201));
    let a = id(&s.post("/sources", json!({"name": "A"})).expect(201));
    let b = id(&s.post("/sources", json!({"name": "B"})).expect(201));
    s.post(
        &format!("/sources/{a}/weights"),
        json!([{"operator_id": op, "weight": 100}]),
    )
    .expect(200);
    s.post(
        &format!("/sources/{b}/weights"),
        json!([{"operator_id": op, "weight": 0}]),
    )
    .expect(200);
    let from_a = s
        .post(
            "/requests",
            json!({"lead_external_id": "x1", "source_id": a, "message": "from A"}),
        )
        .expect(201);
    assert_eq!(from_a["operator_id"], op);
    assert_eq!(from_a["operator_name"], "Agent");
    let from_b = s
        .post(
            "/requests",
            json!({"lead_external_id": "x2", "source_id": b, "message": "from B"}),
        )
        .expect(201);
    assert_eq!(from_b["operator_id"], Value::Null);
    assert_eq!(from_b["operator_name"], Value::Null);
    // The operator had room: B's request waits for want of a weight, not a slot.
    assert_eq!(
        s.get(&format!("/operators/{op}")).expect(200)["current_load"],
        1
    );
    s.stop();
}
