//! The histories the benchmarks run on: a deterministic stream of contacts, and
//! files of 10k or 1M contacts of history built once through the store's own batch
//! intake and cached under `target/bench-data/`. Shared by benches/routing.rs and
//! benches/counters.rs.
#![allow(dead_code)] // each benchmark uses a different part

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Instant;

use switchboard::domain::{ContactStatus, EntityRef};
use switchboard::store::{Durability, NewContact, OpenOptions, Store, latest_version, now_ms};
use tempfile::TempDir;

use super::{SOURCES, SplitMix, mix, scatter, set_up_roster};

// ---------------------------------------------------------------------------------
// Traffic: a deterministic stream of contacts. 70% come from new leads, 30% from
// returning ones (some of which bring an email the lead lacked); sources 40/30/20/10;
// half carry a unique idempotency key, so every transaction runs the full intake path.

/// Bump when the traffic or roster changes, so a cached history is rebuilt.
pub const HISTORY_FORMAT: u32 = 2;

pub struct Spec {
    contact: u64,
    lead: u64,
    source: usize,
    keyed: bool,
    adds_email: bool,
}

pub struct Traffic {
    rng: SplitMix,
    contacts: u64,
    leads: u64,
}

impl Traffic {
    pub fn new() -> Traffic {
        Traffic {
            rng: SplitMix(0x5EED),
            contacts: 0,
            leads: 0,
        }
    }

    fn next_spec(&mut self) -> Spec {
        let contact = self.contacts;
        self.contacts += 1;
        let returning = self.leads > 0 && self.rng.below(100) < 30;
        let lead = if returning {
            self.rng.below(self.leads)
        } else {
            self.leads += 1;
            self.leads - 1
        };
        let source = match self.rng.below(100) {
            0..40 => 0,
            40..70 => 1,
            70..90 => 2,
            _ => 3,
        };
        let keyed = self.rng.below(2) == 0;
        let adds_email = returning && self.rng.below(10) == 0;
        Spec {
            contact,
            lead,
            source,
            keyed,
            adds_email,
        }
    }

    pub fn next(&mut self) -> NewContact {
        let s = self.next_spec();
        // A lead's identifiers follow from its number: 30% external id, 40% phone,
        // 20% email, 10% phone and email.
        let kind = s.lead % 10;
        let external_id = (kind < 3).then(|| format!("crm-{:09}", scatter(s.lead)));
        let phone = matches!(kind, 3..=6 | 9).then(|| format!("+1 {:09}", scatter(s.lead)));
        let email = (matches!(kind, 7..=9) || s.adds_email)
            .then(|| format!("lead{:09}@example.com", scatter(s.lead)));
        NewContact {
            source: Some(EntityRef::from(SOURCES[s.source].0)),
            external_id,
            phone,
            email,
            name: Some(format!("Lead {}", s.lead)),
            message: Some(format!(
                "Order {}: please call me back about the delivery",
                s.contact
            )),
            idempotency_key: s.keyed.then(|| format!("req-{:016x}", mix(s.contact))),
        }
    }

    /// The state after `n` contacts, without building them.
    pub fn after(n: u64) -> Traffic {
        let mut t = Traffic::new();
        for _ in 0..n {
            t.next_spec();
        }
        t
    }
}

// ---------------------------------------------------------------------------------
// Files.

pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .to_path_buf()
}

pub fn bench_data_dir() -> PathBuf {
    let dir = target_dir().join("bench-data");
    fs::create_dir_all(&dir).expect("create target/bench-data");
    dir
}

/// A scratch directory on the same disk as the cached history (never a tmpfs, where
/// fsync would be free and the figures meaningless).
pub fn scratch(prefix: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(bench_data_dir())
        .expect("scratch dir")
}

pub fn options(durability: Durability) -> OpenOptions {
    OpenOptions {
        durability,
        seed: Some(7),
        actor: Some("bench".into()),
        ..OpenOptions::default()
    }
}

/// Closes every active contact except the newest `keep`, as one raw UPDATE (the
/// triggers bring operator.load down with it). Only the newest `window` contacts can
/// be open (everything older was closed by an earlier call), so the UPDATE walks that
/// rowid range instead of the whole history.
pub fn close_all_but(store: &Store, keep: i64, window: i64) {
    store
        .connection()
        .execute(
            "UPDATE contact SET status = 'closed', closed_at = created_at
             WHERE id > (SELECT max(id) FROM contact) - ?2
               AND id <= (SELECT max(id) FROM contact) - ?1 AND status = 'active'",
            [keep, window],
        )
        .expect("close contacts");
}

/// Contacts left open at the end of the history, and after each measured sample.
pub const OPEN_AFTER: i64 = 500;
/// Builds `contacts` of history at `path`: batches through the store's own intake
/// (synchronous=NORMAL), one contact every 30 s of fake time ending now, closed in bulk.
pub fn build_history(path: &Path, contacts: u64) {
    let started = Instant::now();
    let mut store = Store::open(path, options(Durability::Normal)).expect("open history");
    set_up_roster(&mut store);
    let mut traffic = Traffic::new();
    const BATCH: u64 = 10_000;
    const CLOSE_EVERY: u64 = 50_000;
    let first_ms = now_ms() - contacts as i64 * 30_000;
    let mut done = 0;
    while done < contacts {
        let n = BATCH.min(contacts - done);
        let batch: Vec<NewContact> = (0..n).map(|_| traffic.next()).collect();
        store.set_clock(Some(first_ms + done as i64 * 30_000));
        for r in store.add_contacts(&batch).expect("add history batch") {
            let intake = r.expect("history contact");
            assert_eq!(
                intake.contact.status,
                ContactStatus::Active,
                "history must route, not wait: raise max_load or close more often"
            );
        }
        done += n;
        if done % CLOSE_EVERY == 0 || done == contacts {
            let keep = if done == contacts { OPEN_AFTER } else { 0 };
            close_all_but(&store, keep, CLOSE_EVERY as i64);
        }
    }
    store
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("checkpoint");
    drop(store);
    eprintln!(
        "built {contacts} contacts of history in {:.1?} ({})",
        started.elapsed(),
        path.display()
    );
}

/// A fingerprint (FNV-1a) of the schema a new file gets, so that a cached history is
/// rebuilt when the schema changes, even within one schema version.
pub fn schema_fingerprint() -> u64 {
    static FINGERPRINT: OnceLock<u64> = OnceLock::new();
    *FINGERPRINT.get_or_init(|| {
        let dir = scratch("schema-");
        let store = Store::open(dir.path().join("schema.db"), options(Durability::Normal))
            .expect("open a new file");
        let sql: String = store
            .connection()
            .query_row(
                "SELECT group_concat(sql, ';') FROM
                   (SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY name)",
                [],
                |r| r.get(0),
            )
            .expect("read the schema");
        let page_size: i64 = store
            .connection()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .expect("read the page size");
        let sql = format!("{sql};page_size={page_size}");
        sql.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
        })
    })
}

/// A private copy, at `copy`, of the cached history file of `contacts`, built first if
/// missing.
pub fn history_copy(copy: &Path, contacts: u64) {
    let cached = bench_data_dir().join(format!(
        "routing-history-{contacts}-schema{}-{:016x}-format{HISTORY_FORMAT}.db",
        latest_version(),
        schema_fingerprint()
    ));
    if !cached.exists() {
        let building = cached.with_extension(format!("building-{}", std::process::id()));
        remove_db(&building);
        build_history(&building, contacts);
        fs::rename(&building, &cached).expect("move history into the cache");
    }
    fs::copy(&cached, copy).expect("copy cached history");
    // Flush the copy now: hundreds of MB of dirty pages written back during the
    // measurement would slow every fsync of the benchmark.
    fs::File::open(copy)
        .and_then(|f| f.sync_all())
        .expect("sync the copy");
}

pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
