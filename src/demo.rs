//! Demo data: `assets/demo.toml` (embedded) loaded through the store, with a history
//! generated through the real intake path so routing, limits and waiting are genuine.

use std::collections::BTreeMap;
use std::fmt;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::domain::{DomainError, EntityRef, Strategy};
use crate::sim::{self, SourceMix, Vocabulary};
use crate::store::{Store, StoreError, now_ms};

pub const DEMO_TOML: &str = include_str!("../assets/demo.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoData {
    pub history: History,
    pub operator: Vec<DemoOperator>,
    pub source: Vec<DemoSource>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct History {
    pub seed: u64,
    pub contacts: u32,
    pub hours: u32,
    pub close_chance: f64,
    pub repeat: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoOperator {
    pub name: String,
    pub max_load: u32,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSource {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub strategy: Strategy,
    /// Share of the demo's traffic.
    pub traffic: u64,
    #[serde(default)]
    pub weights: BTreeMap<String, u32>,
}

impl DemoData {
    pub fn embedded() -> Result<DemoData, DomainError> {
        toml::from_str(DEMO_TOML).map_err(|e| DomainError::new(format!("assets/demo.toml: {e}")))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    pub operators: usize,
    pub sources: usize,
    pub contacts: u64,
    pub active: u64,
    pub waiting: u64,
    pub closed: u64,
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "demo loaded: {} operators, {} sources, {} contacts ({} active, {} waiting, {} closed)",
            self.operators, self.sources, self.contacts, self.active, self.waiting, self.closed
        )
    }
}

/// Loads the demo into `store`. Refuses a non-empty file unless `force`.
pub fn load(store: &mut Store, force: bool) -> Result<DemoSummary, StoreError> {
    if !force && !store.is_empty()? {
        return Err(StoreError::NotEmpty {
            path: store.path().display().to_string(),
        });
    }
    let data = DemoData::embedded()?;
    // Check every name first, so a clash changes nothing.
    let operators: Vec<String> = store.operators()?.into_iter().map(|o| o.name).collect();
    let sources: Vec<String> = store.sources()?.into_iter().map(|s| s.name).collect();
    let clashes: Vec<&str> = data
        .operator
        .iter()
        .map(|o| o.name.as_str())
        .filter(|n| operators.iter().any(|o| o == n))
        .chain(
            data.source
                .iter()
                .map(|s| s.name.as_str())
                .filter(|n| sources.iter().any(|s| s == n)),
        )
        .collect();
    if !clashes.is_empty() {
        return Err(StoreError::DemoClash {
            path: store.path().display().to_string(),
            names: clashes.iter().map(|n| n.to_string()).collect(),
        });
    }
    // The demo's own session: its changes are the demo's in the audit log, and its
    // history clock never touches the caller's store.
    let mut demo = store.session(Some("demo"))?;
    load_data(&mut demo, &data)
}

fn load_data(store: &mut Store, data: &DemoData) -> Result<DemoSummary, StoreError> {
    let h = &data.history;
    let start = now_ms() - i64::from(h.hours) * 3_600_000;
    store.set_clock(Some(start));
    // Operators are created active so the history can route to them; the inactive
    // ones are switched off at the end.
    for op in &data.operator {
        store.add_operator(&op.name, op.max_load, true)?;
    }
    let mut mix = SourceMix {
        sources: Vec::new(),
        weights: Vec::new(),
    };
    for s in &data.source {
        let src = store.add_source(&s.name, &s.description, s.strategy)?;
        mix.sources.push(src.id);
        mix.weights.push(s.traffic);
        for (op, w) in &s.weights {
            store.set_weight(&EntityRef::parse(op), &EntityRef::Id(src.id), *w)?;
        }
    }
    let vocab = Vocabulary::embedded()?;
    let mut rng = StdRng::seed_from_u64(h.seed);
    store.reseed(h.seed);
    let step = (i64::from(h.hours) * 3_600_000) / i64::from(h.contacts.max(1));
    let mut open: Vec<i64> = Vec::new();
    for i in 0..h.contacts {
        let t = start + i64::from(i) * step;
        store.set_clock(Some(t));
        let mut still_open = Vec::with_capacity(open.len());
        for id in open.drain(..) {
            if rng.random_bool(h.close_chance) {
                store.set_clock(Some(t - rng.random_range(0..step.max(1))));
                store.close_contact(id)?;
                store.set_clock(Some(t));
            } else {
                still_open.push(id);
            }
        }
        open = still_open;
        let source = mix_draw(&mix, &mut rng);
        let c = sim::generate(store, &mut rng, &vocab, &source, h.repeat)?;
        let intake = store.add_contact(&c)?;
        open.push(intake.contact.id);
    }
    store.set_clock(None);
    for op in data.operator.iter().filter(|o| !o.active) {
        store.update_operator(
            &EntityRef::parse(&op.name),
            &crate::store::OperatorPatch {
                active: Some(false),
                ..Default::default()
            },
        )?;
    }
    let sources = store.sources()?;
    let waiting: u64 = sources.iter().map(|s| u64::from(s.waiting)).sum();
    let total: u64 = sources.iter().map(|s| u64::from(s.total)).sum();
    let active: u64 = store.operators()?.iter().map(|o| u64::from(o.load)).sum();
    let closed = total - active - waiting;
    Ok(DemoSummary {
        operators: data.operator.len(),
        sources: data.source.len(),
        contacts: total,
        active,
        waiting,
        closed,
    })
}

fn mix_draw(mix: &SourceMix, rng: &mut StdRng) -> EntityRef {
    use rand::distr::weighted::WeightedIndex;
    match WeightedIndex::new(&mix.weights) {
        Ok(d) => EntityRef::Id(mix.sources[rng.sample(&d)]),
        Err(_) => EntityRef::Id(mix.sources[0]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_demo_parses() {
        let d = DemoData::embedded().unwrap();
        assert!(d.operator.len() >= 8);
        assert_eq!(d.source.len(), 4);
        assert!(d.operator.iter().any(|o| !o.active));
    }
}
