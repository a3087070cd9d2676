//! Shared by the benchmarks: the roster and the deterministic randomness of the traffic;
//! `history` builds and caches the files of contact history.
//!
//! The roster: 8 operators (one inactive), 4 sources, a weight matrix with
//! zeros, and max_loads with room for the whole file, so every contact routes instead
//! of waiting. Shared by benches/routing.rs and benches/ingest.rs.

pub mod history;

use switchboard::domain::{EntityRef, Strategy};
use switchboard::store::Store;

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
