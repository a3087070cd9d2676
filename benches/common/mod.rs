//! Shared by the benchmarks: the roster, the deterministic randomness of the traffic
//! and the `ingest` input; `history` builds and caches the files of contact history.
//! Each bench uses a part of it.
//!
//! The roster: 8 operators (one inactive), 4 sources, a weight matrix with
//! zeros, and max_loads with room for the whole file, so every contact routes instead
//! of waiting. Shared by benches/routing.rs and benches/ingest.rs.

#![allow(dead_code)]

pub mod history;

use std::fs;
use std::path::Path;

use serde_json::{Map, Value, json};
use switchboard::domain::{EntityRef, Strategy};
use switchboard::store::Store;
use tempfile::TempDir;

pub const SOURCES: [(&str, Strategy); 4] = [
    ("web", Strategy::Weighted),
    ("phone", Strategy::Weighted),
    ("chat", Strategy::Capacity),
    ("email", Strategy::Weighted),
];

/// (name, max_load, active, weight per source in `SOURCES` order; 0 = no traffic).
pub const OPERATORS: [(&str, u32, bool, [u32; 4]); 8] = [
    ("alice", 100_000, true, [10, 0, 5, 0]),
    ("bob", 100_000, true, [10, 5, 0, 0]),
    ("carol", 80_000, true, [5, 10, 0, 3]),
    ("dave", 80_000, true, [0, 10, 5, 0]),
    ("erin", 60_000, true, [3, 0, 10, 5]),
    ("frank", 60_000, true, [0, 3, 10, 0]),
    ("grace", 50_000, true, [1, 0, 0, 10]),
    ("heidi", 40_000, false, [5, 5, 5, 5]),
];

pub fn set_up_roster(store: &mut Store) {
    for (name, strategy) in SOURCES {
        store
            .add_source(name, "benchmark source", strategy)
            .expect("add source");
    }
    for (name, max_load, active, weights) in OPERATORS {
        store
            .add_operator(name, max_load, active)
            .expect("add operator");
        for ((source, _), weight) in SOURCES.iter().zip(weights) {
            if weight > 0 {
                store
                    .set_weight(&EntityRef::from(name), &EntityRef::from(*source), weight)
                    .expect("set weight");
            }
        }
    }
}

/// Spreads lead numbers over 0..10^9 one-to-one, as real phone numbers and CRM ids are
/// spread: new leads land all over their indexes, not at the end.
pub fn scatter(n: u64) -> u64 {
    (n.wrapping_mul(2_654_435_769) + 123_456_789) % 1_000_000_000
}

/// A one-to-one 64-bit mix (the splitmix64 finalizer): idempotency keys look random,
/// like the UUIDs clients send.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The seed of benches/ingest.rs's input.
pub const INPUT_SEED: u64 = 0x1D6E57;

// ---------------------------------------------------------------------------------
// The `ingest` input (benches/ingest.rs, benches/fairness.rs): 70% of lines from new leads, 30% from returning ones (some bringing an
// email the lead lacked); sources 40/30/20/10; half carry an idempotency key; 1% are
// retries of an earlier line (a duplicate when that line had a key).

pub fn jsonl(lines: u64, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix(seed);
    let mut leads = 0u64;
    let mut out: Vec<String> = Vec::with_capacity(lines as usize);
    for contact in 0..lines {
        if contact > 0 && rng.below(100) == 0 {
            let earlier = out[rng.below(contact) as usize].clone();
            out.push(earlier);
            continue;
        }
        let returning = leads > 0 && rng.below(100) < 30;
        let lead = if returning {
            rng.below(leads)
        } else {
            leads += 1;
            leads - 1
        };
        let source = match rng.below(100) {
            0..40 => 0,
            40..70 => 1,
            70..90 => 2,
            _ => 3,
        };
        let keyed = rng.below(2) == 0;
        let adds_email = returning && rng.below(10) == 0;
        // A lead's identifiers follow from its number: 30% external id, 40% phone,
        // 20% email, 10% phone and email.
        let kind = lead % 10;
        let mut line = Map::new();
        line.insert("source".into(), json!(SOURCES[source].0));
        if kind < 3 {
            line.insert(
                "external_id".into(),
                json!(format!("crm-{:09}", scatter(lead))),
            );
        }
        if matches!(kind, 3..=6 | 9) {
            line.insert("phone".into(), json!(format!("+1 {:09}", scatter(lead))));
        }
        if matches!(kind, 7..=9) || adds_email {
            line.insert(
                "email".into(),
                json!(format!("lead{:09}@example.com", scatter(lead))),
            );
        }
        line.insert("name".into(), json!(format!("Lead {lead}")));
        line.insert(
            "message".into(),
            json!(format!(
                "Order {contact}: please call me back about the delivery"
            )),
        );
        if keyed {
            line.insert(
                "idempotency_key".into(),
                json!(format!("req-{:016x}", mix(contact))),
            );
        }
        out.push(Value::Object(line).to_string());
    }
    let mut bytes = out.join("\n").into_bytes();
    bytes.push(b'\n');
    bytes
}

/// A scratch directory under target/bench-data (never a tmpfs, where fsync is free).
pub fn scratch(prefix: &str) -> TempDir {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("bench-data");
    fs::create_dir_all(&dir).expect("create target/bench-data");
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(dir)
        .expect("scratch dir")
}

/// Removes the database at `path` with its WAL, shared-memory and turn files.
pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-turn"] {
        let _ = fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
