//! The contact simulator: generates contacts (new leads, and returning ones by
//! external id, phone or email) and feeds them through exactly the same intake path
//! as real contacts. Used by `switchboard simulate`, the TUI's `s` dialog and the demo.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::distr::weighted::WeightedIndex;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::domain::{DomainError, EntityRef};
use crate::intake::{IntakeWriter, Limits};
use crate::store::{NewContact, Store, StoreError};

/// Names and messages the generator draws from.
#[derive(Debug, Clone)]
pub struct Vocabulary {
    pub first: Vec<String>,
    pub last: Vec<String>,
    pub messages: Vec<String>,
}

/// `assets/vocabulary.toml`, embedded.
const VOCABULARY_TOML: &str = include_str!("../assets/vocabulary.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VocabularyFile {
    names: Names,
    messages: Messages,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Names {
    first: Vec<String>,
    last: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Messages {
    texts: Vec<String>,
}

impl Vocabulary {
    /// The embedded vocabulary (`assets/vocabulary.toml`).
    pub fn embedded() -> Result<Vocabulary, DomainError> {
        let f: VocabularyFile = toml::from_str(VOCABULARY_TOML)
            .map_err(|e| DomainError::new(format!("assets/vocabulary.toml: {e}")))?;
        if f.names.first.is_empty() || f.names.last.is_empty() || f.messages.texts.is_empty() {
            return Err(DomainError::new(
                "assets/vocabulary.toml: names and messages must not be empty",
            ));
        }
        Ok(Vocabulary {
            first: f.names.first,
            last: f.names.last,
            messages: f.messages.texts,
        })
    }
}

/// Makes one contact for `source`: a returning lead with probability `repeat` (when
/// there is one), else a new person.
pub fn generate(
    store: &mut Store,
    rng: &mut StdRng,
    vocab: &Vocabulary,
    source: &EntityRef,
    repeat: f64,
) -> Result<NewContact, StoreError> {
    let message = pick(rng, &vocab.messages).to_string();
    if rng.random_bool(repeat.clamp(0.0, 1.0))
        && let Some(lead) = store.random_lead(rng)?
    {
        // Come back by one identifier the lead has, as a different channel would.
        let mut c = NewContact {
            source: Some(source.clone()),
            message: Some(message.clone()),
            ..NewContact::default()
        };
        let options: Vec<u8> = [
            lead.external_id.as_ref().map(|_| 0u8),
            lead.phone.as_ref().map(|_| 1u8),
            lead.email.as_ref().map(|_| 2u8),
        ]
        .into_iter()
        .flatten()
        .collect();
        match options.get(rng.random_range(0..options.len().max(1))) {
            Some(0) => c.external_id = lead.external_id.clone(),
            Some(1) => c.phone = lead.phone.clone(),
            Some(2) => c.email = lead.email.clone(),
            _ => {}
        }
        if c.external_id.is_some() || c.phone.is_some() || c.email.is_some() {
            return Ok(c);
        }
    }
    let first = pick(rng, &vocab.first);
    let last = pick(rng, &vocab.last);
    let n: u32 = rng.random_range(1..10_000);
    let mut c = NewContact {
        source: Some(source.clone()),
        name: Some(format!("{first} {last}")),
        message: Some(message),
        ..NewContact::default()
    };
    // Real intake is uneven: not every channel knows every identifier.
    let kind = rng.random_range(0..10);
    if kind < 6 {
        c.external_id = Some(format!(
            "ext-{:012x}",
            rng.random::<u64>() & 0xffff_ffff_ffff
        ));
    }
    if kind >= 3 {
        c.phone = Some(format!(
            "+7 9{:02} {:03}-{:02}-{:02}",
            rng.random_range(0..100),
            rng.random_range(0..1000),
            rng.random_range(0..100),
            rng.random_range(0..100)
        ));
    }
    if kind >= 8 || c.external_id.is_none() && c.phone.is_none() {
        c.email = Some(format!(
            "{}.{}{n}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        ));
    }
    Ok(c)
}

fn pick<'a>(rng: &mut StdRng, items: &'a [String]) -> &'a str {
    if items.is_empty() {
        return "";
    }
    &items[rng.random_range(0..items.len())]
}

/// Which sources the simulator sends to, and in what proportion.
#[derive(Debug, Clone)]
pub struct SourceMix {
    pub sources: Vec<i64>,
    pub weights: Vec<u64>,
}

impl SourceMix {
    /// The named sources, equally; none named: every source in proportion to the
    /// traffic it has had so far (plus one, so a new source gets some).
    pub fn resolve(store: &mut Store, names: &[String]) -> Result<SourceMix, StoreError> {
        let all = store.sources()?;
        if all.is_empty() {
            return Err(DomainError::new("there are no sources to simulate: add one first").into());
        }
        if names.is_empty() {
            return Ok(SourceMix {
                sources: all.iter().map(|s| s.id).collect(),
                weights: all.iter().map(|s| u64::from(s.total) + 1).collect(),
            });
        }
        let mut sources = Vec::new();
        for n in names {
            sources.push(store.source(&EntityRef::parse(n))?.id);
        }
        let weights = vec![1; sources.len()];
        Ok(SourceMix { sources, weights })
    }

    fn draw(&self, rng: &mut StdRng) -> EntityRef {
        match WeightedIndex::new(&self.weights) {
            Ok(d) => EntityRef::Id(self.sources[rng.sample(&d)]),
            Err(_) => EntityRef::Id(self.sources[0]),
        }
    }
}

/// One simulation: how many, how fast, from where, how many returning leads.
#[derive(Debug, Clone)]
pub struct Plan {
    pub count: u64,
    /// Contacts per second; `None` = as fast as possible.
    pub rate: Option<f64>,
    pub mix: SourceMix,
    pub repeat: f64,
    pub seed: Option<u64>,
}

/// Slowest simulated rate: one contact a minute and a half. Below it a run looks
/// hung (0.0001/s is one contact every three hours).
pub const MIN_RATE: f64 = 0.01;
/// Fastest simulated rate.
pub const MAX_RATE: f64 = 100_000.0;

impl Plan {
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.count == 0 {
            return Err(DomainError::invalid("count", "count must be at least 1"));
        }
        if let Some(r) = self.rate
            && !(r.is_finite() && (MIN_RATE..=MAX_RATE).contains(&r))
        {
            return Err(DomainError::invalid(
                "rate",
                format!(
                    "rate must be between {MIN_RATE} and {MAX_RATE} contacts per second (got {r})"
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.repeat) {
            return Err(DomainError::invalid(
                "repeat",
                "repeat must be between 0 and 1",
            ));
        }
        Ok(())
    }
}

/// Progress shared with whoever watches a running simulation.
#[derive(Debug, Default)]
pub struct Progress {
    pub sent: AtomicU64,
    pub assigned: AtomicU64,
    pub waiting: AtomicU64,
    pub cancel: AtomicBool,
    pub finished: AtomicBool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub sent: u64,
    pub assigned: u64,
    pub waiting: u64,
    pub seconds: f64,
    pub cancelled: bool,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} contact(s) sent in {:.1}s: {} assigned, {} waiting{}",
            self.sent,
            self.seconds,
            self.assigned,
            self.waiting,
            if self.cancelled { " (cancelled)" } else { "" }
        )
    }
}

/// Runs `plan` to the end or until `progress.cancel` is set.
pub fn run(store: &mut Store, plan: &Plan, progress: &Arc<Progress>) -> Result<Report, StoreError> {
    plan.validate()?;
    let started = Instant::now();
    let mut rng = match plan.seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => rand::make_rng::<StdRng>(),
    };
    let vocab = Vocabulary::embedded()?;
    let mut sent = 0u64;
    // Contacts go through the group-commit writer, on a session of its own, like
    // every other producer's.
    let writer = IntakeWriter::spawn(store.session(None)?, Limits::default(), Some(4));
    let queue = writer.queue();
    let result = (|| -> Result<(), StoreError> {
        while sent < plan.count && !progress.cancel.load(Ordering::Relaxed) {
            // Unthrottled: batches of up to 500 in one transaction; throttled: one by one.
            let n = match plan.rate {
                None => (plan.count - sent).min(500),
                Some(_) => 1,
            };
            let mut batch = Vec::with_capacity(n as usize);
            for _ in 0..n {
                let source = plan.mix.draw(&mut rng);
                batch.push(generate(store, &mut rng, &vocab, &source, plan.repeat)?);
            }
            let valid = batch
                .iter()
                .map(NewContact::validate)
                .collect::<Result<Vec<_>, _>>()?;
            for r in queue.add(valid)? {
                let intake = r?;
                sent += 1;
                progress.sent.fetch_add(1, Ordering::Relaxed);
                if intake.contact.operator_id.is_some() {
                    progress.assigned.fetch_add(1, Ordering::Relaxed);
                } else {
                    progress.waiting.fetch_add(1, Ordering::Relaxed);
                }
            }
            if let Some(rate) = plan.rate {
                let due = started + Duration::from_secs_f64(sent as f64 / rate);
                // Sleep in short steps so a cancel is seen quickly.
                while Instant::now() < due && !progress.cancel.load(Ordering::Relaxed) {
                    std::thread::sleep((due - Instant::now()).min(Duration::from_millis(50)));
                }
            }
        }
        Ok(())
    })();
    drop(queue);
    let finished = writer.finish();
    progress.finished.store(true, Ordering::Relaxed);
    result?;
    finished?;
    Ok(Report {
        sent,
        assigned: progress.assigned.load(Ordering::Relaxed),
        waiting: progress.waiting.load(Ordering::Relaxed),
        seconds: started.elapsed().as_secs_f64(),
        cancelled: progress.cancel.load(Ordering::Relaxed),
    })
}

#[cfg(test)]
mod rate_tests {
    use super::*;

    #[test]
    fn rates_outside_the_sane_range_are_refused() {
        let plan = |rate| Plan {
            count: 1,
            rate: Some(rate),
            mix: SourceMix {
                sources: vec![1],
                weights: vec![1],
            },
            repeat: 0.0,
            seed: None,
        };
        for bad in [0.0, 0.001, -1.0, f64::NAN, f64::INFINITY, 100_001.0] {
            let e = plan(bad).validate().unwrap_err().to_string();
            assert!(e.contains("between 0.01 and 100000"), "{bad}: {e}");
        }
        for good in [MIN_RATE, 1.0, MAX_RATE] {
            assert!(plan(good).validate().is_ok(), "{good}");
        }
    }
}
