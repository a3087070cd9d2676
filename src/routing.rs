//! Who may take a contact and who gets it. Pure: the caller reads the candidates inside
//! its write transaction and passes the RNG in, so tests are deterministic.

use rand::Rng;
use rand::RngExt;
use rand::distr::weighted::WeightedIndex;

use crate::domain::Strategy;

/// One operator as routing sees it, for one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub operator_id: i64,
    pub active: bool,
    /// The operator's weight for the contact's source; 0 means no traffic.
    pub weight: u32,
    /// Open (active) contacts the operator holds now.
    pub load: u32,
    pub max_load: u32,
}

impl Candidate {
    /// Active, weight > 0 for the source, and load < max_load.
    pub fn is_eligible(&self) -> bool {
        self.why_not(1).is_empty()
    }

    /// The one rule for "may this operator take `n` more contacts of the source, and if
    /// not, why": routing (n = 1), the store's force check and the TUI's picker all ask
    /// it. Empty means yes. Every reason that holds is listed, so "inactive and full"
    /// says both.
    pub fn why_not(&self, n: u32) -> Ineligibility {
        let mut reasons = Vec::new();
        if !self.active {
            reasons.push(Ineligible::Inactive);
        }
        if self.load.saturating_add(n) > self.max_load {
            reasons.push(Ineligible::Full {
                room: self.free_slots(),
                wanted: n,
            });
        }
        if self.weight == 0 {
            reasons.push(Ineligible::NoWeight);
        }
        Ineligibility(reasons)
    }

    /// Slots left under max_load (0 when full or over).
    pub fn free_slots(&self) -> u32 {
        self.max_load.saturating_sub(self.load)
    }

    /// This candidate's share of the draw under `strategy`; 0 if ineligible.
    pub fn draw_weight(&self, strategy: Strategy) -> u64 {
        if !self.is_eligible() {
            return 0;
        }
        match strategy {
            Strategy::Weighted => u64::from(self.weight),
            Strategy::Capacity => u64::from(self.weight) * u64::from(self.free_slots()),
        }
    }
}

/// One reason an operator may not take contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ineligible {
    Inactive,
    /// Not enough free slots: `room` of the `wanted` contacts fit under max_load.
    Full {
        room: u32,
        wanted: u32,
    },
    /// Weight 0 for the contact's source: routing never sends it this source's traffic.
    NoWeight,
}

impl Ineligible {
    /// Whether assigning anyway goes past a limit, so a person must force it. An
    /// operator without a weight for the source may still be given a contact by hand.
    pub fn needs_force(self) -> bool {
        matches!(self, Ineligible::Inactive | Ineligible::Full { .. })
    }

    pub fn label(self) -> String {
        match self {
            Ineligible::Inactive => "inactive".into(),
            Ineligible::Full { room: 0, .. } | Ineligible::Full { wanted: 1, .. } => "full".into(),
            Ineligible::Full { room, wanted } => format!("room for {room} of {wanted}"),
            Ineligible::NoWeight => "no weight for this source".into(),
        }
    }
}

/// Every reason that holds, in a fixed order (inactive, full, no weight); empty when
/// the operator may take the contacts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ineligibility(pub Vec<Ineligible>);

impl Ineligibility {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn needs_force(&self) -> bool {
        self.0.iter().any(|r| r.needs_force())
    }

    pub fn has(&self, pred: impl Fn(&Ineligible) -> bool) -> bool {
        self.0.iter().any(pred)
    }

    /// "inactive", "inactive, full", "room for 2 of 3, no weight".
    pub fn label(&self) -> String {
        match self.0.as_slice() {
            [one] => one.label(),
            many => many
                .iter()
                .map(|r| match r {
                    Ineligible::NoWeight => "no weight".to_string(),
                    other => other.label(),
                })
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}

/// Picks the operator for one contact, or `None` when nobody is eligible (the contact
/// then waits). Returns an index into `candidates`.
pub fn choose<R: Rng + ?Sized>(
    strategy: Strategy,
    candidates: &[Candidate],
    rng: &mut R,
) -> Option<usize> {
    let weights: Vec<u64> = candidates.iter().map(|c| c.draw_weight(strategy)).collect();
    if weights.iter().all(|&w| w == 0) {
        return None;
    }
    // Weights are all finite and at least one is positive, so this cannot fail.
    let dist = WeightedIndex::new(&weights).ok()?;
    Some(rng.sample(&dist))
}

/// A weight's share of its source: the weight over the sum of the source's weights
/// (0..=1), as the supervisor configured it. This is not the chance of getting the
/// next contact, which depends on who is eligible now and on the strategy: see
/// [`chances`].
pub fn weight_share(weight: u32, source_total: u64) -> f64 {
    if source_total == 0 {
        0.0
    } else {
        f64::from(weight) / source_total as f64
    }
}

/// The chance each candidate has of getting the next contact now, under the source's
/// strategy: 0 for those not eligible; by weight (`weighted`) or weight x free slots
/// (`capacity`) among the rest. What [`choose`] draws from.
pub fn chances(strategy: Strategy, candidates: &[Candidate]) -> Vec<f64> {
    let weights: Vec<u64> = candidates.iter().map(|c| c.draw_weight(strategy)).collect();
    let total: u64 = weights.iter().sum();
    weights
        .iter()
        .map(|&w| {
            if total == 0 {
                0.0
            } else {
                w as f64 / total as f64
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert, proptest};
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use statrs::distribution::{ChiSquared, ContinuousCDF};

    fn cand(id: i64, weight: u32, load: u32, max_load: u32) -> Candidate {
        Candidate {
            operator_id: id,
            active: true,
            weight,
            load,
            max_load,
        }
    }

    #[test]
    fn nobody_eligible_means_none() {
        let mut rng = StdRng::seed_from_u64(1);
        assert_eq!(choose(Strategy::Weighted, &[], &mut rng), None);
        let full = cand(1, 10, 3, 3);
        let zero = cand(2, 0, 0, 3);
        let inactive = Candidate {
            active: false,
            ..cand(3, 5, 0, 3)
        };
        let no_room = cand(4, 5, 0, 0);
        for s in Strategy::ALL {
            assert_eq!(choose(s, &[full, zero, inactive, no_room], &mut rng), None);
        }
    }

    #[test]
    fn the_only_eligible_operator_always_wins() {
        let mut rng = StdRng::seed_from_u64(2);
        let cs = [cand(1, 10, 3, 3), cand(2, 1, 0, 5), cand(3, 0, 0, 5)];
        for _ in 0..100 {
            assert_eq!(choose(Strategy::Weighted, &cs, &mut rng), Some(1));
        }
    }

    #[test]
    fn why_not_lists_every_reason_and_counts_room() {
        assert!(cand(1, 5, 0, 3).why_not(3).is_empty());
        let room = cand(1, 5, 1, 3).why_not(3);
        assert_eq!(room.0, vec![Ineligible::Full { room: 2, wanted: 3 }]);
        assert_eq!(room.label(), "room for 2 of 3");
        assert!(room.needs_force());
        let both = Candidate {
            active: false,
            ..cand(1, 5, 3, 3)
        }
        .why_not(1);
        assert_eq!(both.label(), "inactive, full");
        let none = cand(1, 0, 0, 3).why_not(1);
        assert_eq!(none.label(), "no weight for this source");
        assert!(!none.needs_force());
        assert!(!cand(1, 0, 0, 3).is_eligible());
        assert!(cand(1, 1, 2, 3).is_eligible());
    }

    #[test]
    fn capacity_strategy_weighs_free_slots() {
        let cs = [cand(1, 10, 0, 10), cand(2, 10, 9, 10)];
        let s = chances(Strategy::Capacity, &cs);
        assert!((s[0] - 10.0 / 11.0).abs() < 1e-12);
        let s = chances(Strategy::Weighted, &cs);
        assert!((s[0] - 0.5).abs() < 1e-12);
    }

    /// Draws 60,000 picks among `drawn` and returns the chi-square p-value of the counts
    /// against the shares `expected` should have (same operators, maybe other weights).
    fn fit_p_value(
        strategy: Strategy,
        drawn: &[Candidate],
        expected: &[Candidate],
        seed: u64,
    ) -> f64 {
        let n = 60_000;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut counts = vec![0u64; drawn.len()];
        for _ in 0..n {
            counts[choose(strategy, drawn, &mut rng).unwrap()] += 1;
        }
        let shares = chances(strategy, expected);
        let mut stat = 0.0;
        let mut cells = 0;
        for (i, &p) in shares.iter().enumerate() {
            if p == 0.0 {
                assert_eq!(counts[i], 0, "an ineligible operator was picked");
                continue;
            }
            let e = p * n as f64;
            stat += (counts[i] as f64 - e).powi(2) / e;
            cells += 1;
        }
        let dist = ChiSquared::new((cells - 1) as f64).unwrap();
        1.0 - dist.cdf(stat)
    }

    /// Chi-square goodness of fit of observed picks against `shares`, at p > 0.001.
    fn assert_fits(strategy: Strategy, cs: &[Candidate], seed: u64) {
        let p_value = fit_p_value(strategy, cs, cs, seed);
        assert!(
            p_value > 0.001,
            "shares do not fit: p={p_value:.5}, candidates={cs:?}"
        );
    }

    #[test]
    fn weighted_shares_fit_chi_square() {
        let cs = [
            cand(1, 10, 0, 100),
            cand(2, 30, 5, 100),
            cand(3, 60, 0, 100),
            cand(4, 0, 0, 100),
            cand(5, 50, 100, 100),
        ];
        assert_fits(Strategy::Weighted, &cs, 42);
    }

    #[test]
    fn capacity_shares_fit_chi_square() {
        let cs = [cand(1, 10, 0, 10), cand(2, 20, 8, 10), cand(3, 5, 1, 4)];
        assert_fits(Strategy::Capacity, &cs, 7);
    }

    #[test]
    fn chi_square_detects_a_wrong_distribution() {
        // Guard against a test that cannot fail: the same check must reject picks made
        // with equal weights when 10/30/60 is expected.
        let expected = [
            cand(1, 10, 0, 100),
            cand(2, 30, 0, 100),
            cand(3, 60, 0, 100),
        ];
        let uniform = [cand(1, 1, 0, 100), cand(2, 1, 0, 100), cand(3, 1, 0, 100)];
        assert!(fit_p_value(Strategy::Weighted, &uniform, &expected, 3) < 1e-6);
    }

    use proptest::strategy::Strategy as Strategy_;

    fn arb_candidate() -> impl Strategy_<Value = Candidate> {
        (any::<bool>(), 0u32..20, 0u32..12, 0u32..10).prop_map(|(active, weight, load, max)| {
            Candidate {
                operator_id: 0,
                active,
                weight,
                load,
                max_load: max,
            }
        })
    }

    proptest! {
        #[test]
        fn never_an_ineligible_operator(
            cs in proptest::collection::vec(arb_candidate(), 0..8),
            seed in any::<u64>(),
            capacity in any::<bool>(),
        ) {
            let strategy = if capacity { Strategy::Capacity } else { Strategy::Weighted };
            let mut rng = StdRng::seed_from_u64(seed);
            match choose(strategy, &cs, &mut rng) {
                Some(i) => prop_assert!(cs[i].is_eligible()),
                None => prop_assert!(cs.iter().all(|c| !c.is_eligible())),
            }
        }

        #[test]
        fn repeated_routing_never_exceeds_max_load(
            cs in proptest::collection::vec(arb_candidate(), 1..8),
            contacts in 0usize..100,
            seed in any::<u64>(),
        ) {
            let mut cs = cs;
            for (i, c) in cs.iter_mut().enumerate() {
                c.operator_id = i as i64;
                c.load = c.load.min(c.max_load);
            }
            let mut rng = StdRng::seed_from_u64(seed);
            for _ in 0..contacts {
                match choose(Strategy::Weighted, &cs, &mut rng) {
                    Some(i) => cs[i].load += 1,
                    None => break,
                }
                prop_assert!(cs.iter().all(|c| c.load <= c.max_load));
            }
        }
    }
}
