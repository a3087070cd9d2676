//! The benchmarks' roster: 8 operators (one inactive), 4 sources, a weight matrix with
//! zeros, and max_loads with room for the whole file, so every contact routes instead
//! of waiting. Shared by benches/routing.rs and benches/ingest.rs.

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
