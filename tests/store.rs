//! The store through its public API: lead matching, routing strategies, backlog drain,
//! load bookkeeping, the database backstop, delete rules and compare-and-set.

mod common;

use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::Strategy as Generate;
use statrs::distribution::{ChiSquared, ContinuousCDF};
use switchboard::domain::{ContactStatus, EntityRef, Strategy};
use switchboard::store::{
    Durability, Expect, Intake, NewContact, OpenOptions, OperatorPatch, SourcePatch, Store,
    StoreError,
};
use tempfile::TempDir;

fn open_seeded(path: &Path, seed: u64) -> Store {
    Store::open(
        path,
        OpenOptions {
            seed: Some(seed),
            // No fsync per commit: these tests make thousands of small transactions.
            durability: Durability::Normal,
            actor: Some("tester".into()),
            ..OpenOptions::default()
        },
    )
    .expect("open store")
}

fn fresh() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = open_seeded(&dir.path().join("sb.db"), 7);
    (dir, store)
}

fn r(s: &str) -> EntityRef {
    EntityRef::parse(s)
}

/// A contact for `source` with the given identifiers (empty string = absent).
fn nc(source: &str, external_id: &str, phone: &str, email: &str) -> NewContact {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    NewContact {
        source: Some(r(source)),
        external_id: some(external_id),
        phone: some(phone),
        email: some(email),
        ..NewContact::default()
    }
}

fn by_email(source: &str, email: &str) -> NewContact {
    nc(source, "", "", email)
}

fn add(store: &mut Store, c: &NewContact) -> Intake {
    store.add_contact(c).expect("add contact")
}

fn lead_count(store: &Store) -> i64 {
    common::count(store.connection(), "SELECT count(*) FROM lead")
}

fn status_of(store: &mut Store, id: i64) -> (ContactStatus, Option<String>) {
    let c = store.contact(id).unwrap();
    (c.status, c.operator)
}

fn load_of(store: &mut Store, name: &str) -> u32 {
    store.operator(&r(name)).unwrap().load
}

/// Source `web` and operators with (name, max_load, active, weight for web).
fn setup(store: &mut Store, ops: &[(&str, u32, bool, u32)]) {
    store.add_source("web", "", Strategy::Weighted).unwrap();
    for &(name, max, active, w) in ops {
        store.add_operator(name, max, active).unwrap();
        if w > 0 {
            store.set_weight(&r(name), &r("web"), w).unwrap();
        }
    }
}

// ---------------------------------------------------------------- lead matching

#[test]
fn lead_matching_tries_external_id_then_phone_then_email() {
    let (_d, mut s) = fresh();
    s.add_source("web", "", Strategy::Weighted).unwrap();
    let a = add(&mut s, &nc("web", "ext-a", "", "")).contact.lead_id;
    let p = add(&mut s, &nc("web", "", "+100 200 300", ""))
        .contact
        .lead_id;
    let e = add(&mut s, &nc("web", "", "", "e@x.io")).contact.lead_id;
    assert_eq!(lead_count(&s), 3);

    // All three identifiers, each naming a different lead: the external id wins.
    assert_eq!(
        add(&mut s, &nc("web", "ext-a", "+100200300", "e@x.io"))
            .contact
            .lead_id,
        a
    );
    // Phone and email: the phone wins.
    assert_eq!(
        add(&mut s, &nc("web", "", "+100-200-300", "E@X.io"))
            .contact
            .lead_id,
        p
    );
    // An unknown external id does not stop the email from matching.
    assert_eq!(
        add(&mut s, &nc("web", "ext-new", "", "e@x.io"))
            .contact
            .lead_id,
        e
    );
    assert_eq!(lead_count(&s), 3, "no lead created by a match");

    let la = s.lead(a).unwrap();
    assert_eq!(
        (&la.lead.phone, &la.lead.email),
        (&None, &None),
        "A takes no identifier another lead holds"
    );
    assert_eq!(la.contacts.len(), 2);
    let lp = s.lead(p).unwrap();
    assert_eq!(lp.lead.phone.as_deref(), Some("+100200300"));
    assert_eq!(lp.lead.email, None);
    assert_eq!(lp.contacts.len(), 2);
    let le = s.lead(e).unwrap();
    assert_eq!(
        le.lead.external_id.as_deref(),
        Some("ext-new"),
        "an external id nobody holds is filled in"
    );
}

#[test]
fn phone_numbers_match_after_normalization() {
    let (_d, mut s) = fresh();
    s.add_source("web", "", Strategy::Weighted).unwrap();
    let first = add(&mut s, &nc("web", "", "+7 (900) 111-22-33", "")).contact;
    let second = add(&mut s, &nc("web", "", "+79001112233", "")).contact;
    let third = add(&mut s, &nc("web", "", " +7 900 111.22.33 ", "")).contact;
    assert_eq!(first.lead_id, second.lead_id);
    assert_eq!(first.lead_id, third.lead_id);
    let lead = s.lead(first.lead_id).unwrap();
    assert_eq!(lead.lead.phone.as_deref(), Some("+79001112233"));
    assert_eq!(lead.contacts.len(), 3);
    // Without the +, it is another number.
    let other = add(&mut s, &nc("web", "", "79001112233", "")).contact;
    assert_ne!(other.lead_id, first.lead_id);
    // A phone with letters is refused.
    let err = s.add_contact(&nc("web", "", "call me", "")).unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err:?}");
}

#[test]
fn emails_match_regardless_of_case_and_whitespace() {
    let (_d, mut s) = fresh();
    s.add_source("web", "", Strategy::Weighted).unwrap();
    let a = add(&mut s, &by_email("web", "  Ann@Example.COM ")).contact;
    let b = add(&mut s, &by_email("web", "ann@example.com")).contact;
    let c = add(&mut s, &by_email("web", "ANN@EXAMPLE.COM\t")).contact;
    assert_eq!(a.lead_id, b.lead_id);
    assert_eq!(a.lead_id, c.lead_id);
    assert_eq!(
        s.lead(a.lead_id).unwrap().lead.email.as_deref(),
        Some("ann@example.com")
    );
    assert_eq!(lead_count(&s), 1);
}

#[test]
fn a_match_fills_identifiers_the_lead_lacked() {
    let (_d, mut s) = fresh();
    s.add_source("web", "", Strategy::Weighted).unwrap();
    let lead = add(&mut s, &by_email("web", "ann@x.io")).contact.lead_id;
    let mut full = nc("web", "crm-17", "+1 555 0100", "ann@x.io");
    full.name = Some("Ann".into());
    assert_eq!(add(&mut s, &full).contact.lead_id, lead);
    let l = s.lead(lead).unwrap().lead;
    assert_eq!(l.external_id.as_deref(), Some("crm-17"));
    assert_eq!(l.phone.as_deref(), Some("+15550100"));
    assert_eq!(l.email.as_deref(), Some("ann@x.io"));
    assert_eq!(l.name.as_deref(), Some("Ann"));
    // Each filled identifier now finds the lead alone.
    assert_eq!(
        add(&mut s, &nc("web", "crm-17", "", "")).contact.lead_id,
        lead
    );
    assert_eq!(
        add(&mut s, &nc("web", "", "+15550100", "")).contact.lead_id,
        lead
    );
    // A name already known is not overwritten.
    let mut renamed = by_email("web", "ann@x.io");
    renamed.name = Some("Annie".into());
    add(&mut s, &renamed);
    assert_eq!(s.lead(lead).unwrap().lead.name.as_deref(), Some("Ann"));
    assert_eq!(s.lead(lead).unwrap().contacts.len(), 5);
    assert_eq!(lead_count(&s), 1);
}

#[test]
fn conflicting_matches_use_the_external_id_and_merge_nothing() {
    let (_d, mut s) = fresh();
    s.add_source("web", "", Strategy::Weighted).unwrap();
    let a = add(&mut s, &nc("web", "A-1", "", "")).contact.lead_id;
    let mut bee = nc("web", "", "+1 555 0199", "b@x.io");
    bee.name = Some("Bee".into());
    let b = add(&mut s, &bee).contact.lead_id;
    let b_before = s.lead(b).unwrap();

    let c = add(&mut s, &nc("web", "A-1", "+15550199", "b@x.io")).contact;
    assert_eq!(c.lead_id, a);
    let la = s.lead(a).unwrap();
    assert_eq!(la.lead.email, None, "A must not take B's email");
    assert_eq!(la.lead.phone, None, "A must not take B's phone");
    assert_eq!(la.contacts.len(), 2);
    assert_eq!(s.lead(b).unwrap(), b_before, "B unchanged");
    assert_eq!(lead_count(&s), 2);
    // B's email still finds B, not A.
    assert_eq!(add(&mut s, &by_email("web", "b@x.io")).contact.lead_id, b);
}

// ---------------------------------------------------------------- routing

/// Chi-square p-value of `counts` against the probabilities `expected`.
fn p_value(counts: &[u64], expected: &[f64]) -> f64 {
    let n: u64 = counts.iter().sum();
    let stat: f64 = counts
        .iter()
        .zip(expected)
        .map(|(&c, &p)| (c as f64 - p * n as f64).powi(2) / (p * n as f64))
        .sum();
    1.0 - ChiSquared::new((counts.len() - 1) as f64)
        .unwrap()
        .cdf(stat)
}

/// Routes `n` contacts of `web` one at a time, closing each at once so loads stay as
/// they are; returns how many went to ann and to bob.
fn route_and_close(s: &mut Store, n: usize, tag: &str) -> [u64; 2] {
    let mut counts = [0u64; 2];
    for i in 0..n {
        let c = add(s, &by_email("web", &format!("{tag}{i}@x.io"))).contact;
        match c.operator.as_deref() {
            Some("ann") => counts[0] += 1,
            Some("bob") => counts[1] += 1,
            other => panic!("routed to {other:?}"),
        }
        s.close_contact(c.id).unwrap();
    }
    counts
}

#[test]
fn capacity_strategy_weighs_free_slots() {
    let (_d, mut s) = fresh();
    s.add_source("web", "", Strategy::Capacity).unwrap();
    s.add_source("side", "", Strategy::Weighted).unwrap();
    for name in ["ann", "bob"] {
        s.add_operator(name, 10, true).unwrap();
        s.set_weight(&r(name), &r("web"), 1).unwrap();
    }
    // bob holds 9 of 10: under capacity, ann (10 free) gets 10/11 of the traffic.
    for i in 0..9 {
        let c = add(&mut s, &by_email("side", &format!("side{i}@x.io"))).contact;
        s.assign_contact(c.id, &r("bob"), false, Expect::Waiting)
            .unwrap();
    }
    assert_eq!(load_of(&mut s, "bob"), 9);
    let n = 1500;
    let capacity = route_and_close(&mut s, n, "c");
    assert!(
        p_value(&capacity, &[10.0 / 11.0, 1.0 / 11.0]) > 0.001,
        "capacity shares {capacity:?} do not fit 10:1"
    );
    assert!(
        p_value(&capacity, &[0.5, 0.5]) < 1e-9,
        "capacity shares {capacity:?} look like plain weights"
    );
    assert_eq!(load_of(&mut s, "bob"), 9);

    s.update_source(
        &r("web"),
        &SourcePatch {
            strategy: Some(Strategy::Weighted),
            ..SourcePatch::default()
        },
    )
    .unwrap();
    let weighted = route_and_close(&mut s, n, "w");
    assert!(
        p_value(&weighted, &[0.5, 0.5]) > 0.001,
        "weighted shares {weighted:?} do not fit 1:1"
    );
}

#[test]
fn a_full_operator_gets_nothing_whatever_its_weight() {
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 2, true, 1_000_000), ("bob", 50, true, 1)]);
    let mut got = Vec::new();
    for i in 0..40 {
        let c = add(&mut s, &by_email("web", &format!("p{i}@x.io"))).contact;
        assert_eq!(c.status, ContactStatus::Active);
        got.push(c.operator.unwrap());
    }
    // A million to one: ann takes the first two, then only bob has room.
    assert_eq!(got[..2], ["ann", "ann"]);
    assert!(got[2..].iter().all(|o| o == "bob"), "{got:?}");
    assert_eq!(load_of(&mut s, "ann"), 2);
    assert_eq!(load_of(&mut s, "bob"), 38);
}

// ---------------------------------------------------------------- backlog drain

fn waiting_then(s: &mut Store, n: usize, source: &str) -> Vec<i64> {
    (0..n)
        .map(|i| {
            let c = add(s, &by_email(source, &format!("{source}{i}@x.io"))).contact;
            assert_eq!(c.status, ContactStatus::Waiting);
            c.id
        })
        .collect()
}

#[test]
fn activating_an_operator_drains_oldest_first_across_its_sources() {
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 2, false, 1)]);
    s.add_source("tg", "", Strategy::Weighted).unwrap();
    s.set_weight(&r("ann"), &r("tg"), 1).unwrap();
    let w1 = waiting_then(&mut s, 1, "web")[0];
    let t1 = waiting_then(&mut s, 1, "tg")[0];
    let rest = [
        add(&mut s, &by_email("web", "late-web@x.io")).contact.id,
        add(&mut s, &by_email("tg", "late-tg@x.io")).contact.id,
    ];
    let ann = s
        .update_operator(
            &r("ann"),
            &OperatorPatch {
                active: Some(true),
                ..OperatorPatch::default()
            },
        )
        .unwrap();
    assert_eq!(ann.load, 2, "the update itself routed the backlog");
    for id in [w1, t1] {
        assert_eq!(
            status_of(&mut s, id),
            (ContactStatus::Active, Some("ann".into()))
        );
    }
    for id in rest {
        assert_eq!(status_of(&mut s, id), (ContactStatus::Waiting, None));
    }
}

#[test]
fn raising_max_load_drains_oldest_first() {
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 1, true, 1)]);
    let first = add(&mut s, &by_email("web", "first@x.io")).contact;
    assert_eq!(first.status, ContactStatus::Active);
    let waiting = waiting_then(&mut s, 3, "web");
    let ann = s
        .update_operator(
            &r("ann"),
            &OperatorPatch {
                max_load: Some(3),
                ..OperatorPatch::default()
            },
        )
        .unwrap();
    assert_eq!(ann.load, 3);
    assert_eq!(status_of(&mut s, waiting[0]).0, ContactStatus::Active);
    assert_eq!(status_of(&mut s, waiting[1]).0, ContactStatus::Active);
    assert_eq!(status_of(&mut s, waiting[2]).0, ContactStatus::Waiting);
    // Lowering it routes nothing and takes nothing away.
    let ann = s
        .update_operator(
            &r("ann"),
            &OperatorPatch {
                max_load: Some(1),
                ..OperatorPatch::default()
            },
        )
        .unwrap();
    assert_eq!(ann.load, 3);
    assert_eq!(status_of(&mut s, waiting[2]).0, ContactStatus::Waiting);
}

#[test]
fn raising_a_weight_from_zero_drains_oldest_first() {
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 2, true, 0)]);
    let waiting = waiting_then(&mut s, 3, "web");
    s.set_weight(&r("ann"), &r("web"), 4).unwrap();
    assert_eq!(load_of(&mut s, "ann"), 2);
    assert_eq!(
        status_of(&mut s, waiting[0]),
        (ContactStatus::Active, Some("ann".into()))
    );
    assert_eq!(status_of(&mut s, waiting[1]).0, ContactStatus::Active);
    assert_eq!(status_of(&mut s, waiting[2]).0, ContactStatus::Waiting);
}

#[test]
fn reassigning_frees_a_slot_that_drains() {
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 1, true, 1), ("bob", 5, true, 0)]);
    let held = add(&mut s, &by_email("web", "a@x.io")).contact;
    let waiting = waiting_then(&mut s, 2, "web");
    let moved = s
        .assign_contact(held.id, &r("bob"), false, Expect::Any)
        .unwrap();
    assert_eq!(moved.operator.as_deref(), Some("bob"));
    assert_eq!(
        status_of(&mut s, waiting[0]),
        (ContactStatus::Active, Some("ann".into()))
    );
    assert_eq!(status_of(&mut s, waiting[1]).0, ContactStatus::Waiting);
    assert_eq!(load_of(&mut s, "ann"), 1);
    assert_eq!(load_of(&mut s, "bob"), 1);
}

/// "Assigned today" counts the assignments made today: intake, the backlog drain and
/// manual (re)assignment; a reopen is no new assignment, and a day in the past never
/// counts for today.
#[test]
fn assigned_today_counts_todays_assignments() {
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 2, true, 1), ("bob", 5, true, 0)]);
    let today = |s: &mut Store, name: &str| s.operator(&r(name)).unwrap().assigned_today;

    // Yesterday's traffic is not today's.
    s.set_clock(Some(switchboard::store::now_ms() - 2 * 86_400_000));
    let old = add(&mut s, &by_email("web", "old@x.io")).contact;
    s.close_contact(old.id).unwrap();
    s.set_clock(None);
    assert_eq!(today(&mut s, "ann"), 0);

    let first = add(&mut s, &by_email("web", "a@x.io")).contact;
    s.add_contacts(&[by_email("web", "b@x.io"), by_email("web", "c@x.io")])
        .unwrap();
    assert_eq!(
        today(&mut s, "ann"),
        2,
        "two routed, one waits (max_load 2)"
    );

    // Closing drains the waiting one to ann: a third assignment today.
    s.close_contact(first.id).unwrap();
    assert_eq!(today(&mut s, "ann"), 3);
    assert_eq!(load_of(&mut s, "ann"), 2);

    // A manual move counts for the operator it goes to.
    let ann = s.operator(&r("ann")).unwrap().id;
    let held = s.open_contacts(ann, 10).unwrap();
    s.assign_contact(held[0].id, &r("bob"), false, Expect::Any)
        .unwrap();
    assert_eq!((today(&mut s, "ann"), today(&mut s, "bob")), (3, 1));

    // Reopening a contact closed today gives it back to its operator: no new count.
    s.close_contact(held[0].id).unwrap();
    s.reopen_contact(held[0].id).unwrap();
    assert_eq!(today(&mut s, "bob"), 1);
    // Reopening yesterday's contact is no assignment today either.
    s.reopen_contact(old.id).unwrap();
    assert_eq!(today(&mut s, "ann"), 3);

    // The list reads the same counter.
    let listed: Vec<(String, u32)> = s
        .operators()
        .unwrap()
        .into_iter()
        .map(|o| (o.name, o.assigned_today))
        .collect();
    assert_eq!(listed, vec![("ann".into(), 3), ("bob".into(), 1)]);
}

/// Under a fixed clock, "today" turns at local midnight (wherever the test runs):
/// contacts routed or assigned by hand at 23:59 count for that day, and at 00:01 for
/// the next, for the operators' "assigned today" and the sources' "today" alike.
#[test]
fn assigned_today_turns_at_local_midnight() {
    use chrono::{Local, NaiveDate, TimeZone};
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 10, true, 1), ("bob", 10, true, 0)]);
    // Far from any daylight-saving change, so the day has 24 hours everywhere.
    let midnight = Local
        .from_local_datetime(
            &NaiveDate::from_ymd_opt(2026, 6, 10)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
        )
        .single()
        .unwrap()
        .timestamp_millis();
    let minute = 60_000;
    // (ann's assigned today, bob's, web's today) as read at `at`.
    let today_at = |s: &mut Store, at: i64| {
        s.set_clock(Some(at));
        let of = |s: &mut Store, name: &str| s.operator(&r(name)).unwrap().assigned_today;
        (
            of(s, "ann"),
            of(s, "bob"),
            s.source(&r("web")).unwrap().today,
        )
    };

    // 9 June, 23:59: one routed to ann, one moved to bob by hand.
    s.set_clock(Some(midnight - minute));
    add(&mut s, &by_email("web", "late@x.io"));
    let moved = add(&mut s, &by_email("web", "late-moved@x.io")).contact;
    s.assign_contact(moved.id, &r("bob"), false, Expect::Any)
        .unwrap();
    assert_eq!(
        today_at(&mut s, midnight - minute / 2),
        (2, 1, 2),
        "23:59:30"
    );
    assert_eq!(today_at(&mut s, midnight), (0, 0, 0), "00:00:00, a new day");

    // 10 June, 00:01: the same again.
    s.set_clock(Some(midnight + minute));
    add(&mut s, &by_email("web", "early@x.io"));
    let moved = add(&mut s, &by_email("web", "early-moved@x.io")).contact;
    s.assign_contact(moved.id, &r("bob"), false, Expect::Any)
        .unwrap();
    assert_eq!(today_at(&mut s, midnight + 60 * minute), (2, 1, 2), "01:00");
    assert_eq!(
        today_at(&mut s, midnight + 24 * 60 * minute - 1),
        (2, 1, 2),
        "23:59:59.999"
    );
    let listed: Vec<(String, u32)> = s
        .operators()
        .unwrap()
        .into_iter()
        .map(|o| (o.name, o.assigned_today))
        .collect();
    assert_eq!(listed, vec![("ann".into(), 2), ("bob".into(), 1)]);
    assert_eq!((load_of(&mut s, "ann"), load_of(&mut s, "bob")), (2, 2));
}

// ---------------------------------------------------------------- load bookkeeping

#[derive(Debug, Clone)]
enum Op {
    Add {
        source: usize,
        person: u8,
        key: Option<u8>,
    },
    Close(usize),
    Reopen(usize),
    Assign {
        contact: usize,
        op: usize,
        force: bool,
        any: bool,
    },
    MaxLoad {
        op: usize,
        max: u32,
    },
    Active {
        op: usize,
        on: bool,
    },
    Weight {
        op: usize,
        source: usize,
        weight: u32,
    },
    Drain,
    /// Several contacts in one transaction: `how` picks `add_contacts`,
    /// `add_valid_contacts` or `add_valid_contacts_within`.
    Batch {
        contacts: Vec<(usize, u8, Option<u8>)>,
        how: u8,
    },
}

const OPS: [&str; 3] = ["ann", "bob", "cid"];
const SOURCES: [&str; 2] = ["web", "tg"];

fn arb_op() -> impl Generate<Value = Op> {
    prop_oneof![
        4 => (0..2usize, 0..12u8, proptest::option::of(0..6u8))
            .prop_map(|(source, person, key)| Op::Add { source, person, key }),
        2 => any::<usize>().prop_map(Op::Close),
        1 => any::<usize>().prop_map(Op::Reopen),
        1 => (any::<usize>(), 0..3usize, any::<bool>(), any::<bool>())
            .prop_map(|(contact, op, force, any)| Op::Assign { contact, op, force, any }),
        1 => (0..3usize, 0..4u32).prop_map(|(op, max)| Op::MaxLoad { op, max }),
        1 => (0..3usize, any::<bool>()).prop_map(|(op, on)| Op::Active { op, on }),
        1 => (0..3usize, 0..2usize, 0..3u32)
            .prop_map(|(op, source, weight)| Op::Weight { op, source, weight }),
        1 => Just(Op::Drain),
        2 => (
            proptest::collection::vec((0..2usize, 0..12u8, proptest::option::of(0..6u8)), 0..12),
            0..3u8,
        )
            .prop_map(|(contacts, how)| Op::Batch { contacts, how }),
    ]
}

fn contact_ids(s: &Store) -> Vec<i64> {
    let mut stmt = s
        .connection()
        .prepare("SELECT id FROM contact ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

/// An error a random but legal sequence may meet; anything else is a defect.
fn expected_refusal(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::WrongStatus { .. }
            | StoreError::Unassigned { .. }
            | StoreError::AlreadyAssigned { .. }
            | StoreError::NeedsForce { .. }
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// After any sequence (contacts taken in alone and in batches, through every
    /// intake call, mixed with status changes): `operator.load` equals the count of its
    /// active contacts; an operator is over max_load only by what a person put there
    /// (a forced assignment, a lowered max_load) and nothing automatic, a reopen
    /// included, adds to that; no contact waits while an operator could take it.
    #[test]
    fn load_always_equals_active_contacts(
        seed in any::<u64>(),
        ops in proptest::collection::vec(arb_op(), 1..60),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = open_seeded(&dir.path().join("sb.db"), seed);
        for name in SOURCES {
            s.add_source(name, "", Strategy::Weighted).unwrap();
        }
        s.update_source(&r("tg"), &SourcePatch { strategy: Some(Strategy::Capacity), ..SourcePatch::default() }).unwrap();
        for (i, name) in OPS.iter().enumerate() {
            s.add_operator(name, i as u32 + 1, true).unwrap();
            s.set_weight(&r(name), &r(SOURCES[i % 2]), 1).unwrap();
        }
        // How far each operator may be over max_load after a step: what it was still
        // over after the last check, plus one for each contact a person forced onto it
        // in this step; after a person sets its max_load, whatever its load is over
        // the new limit. A reopen earns nothing: the contact goes back to its
        // operator only when there is room, else it waits.
        let mut allowed_over = [0i64; 3];
        for op in &ops {
            let ids = contact_ids(&s);
            let pick = |i: usize| (!ids.is_empty()).then(|| ids[i % ids.len()]);
            let result: Result<(), StoreError> = match op {
                Op::Add { source, person, key } => {
                    let mut c = by_email(SOURCES[*source], &format!("p{person}@x.io"));
                    c.idempotency_key = key.map(|k| format!("k{k}"));
                    s.add_contact(&c).map(|_| ())
                }
                Op::Close(i) => match pick(*i) {
                    Some(id) => s.close_contact(id).map(|_| ()),
                    None => Ok(()),
                },
                Op::Reopen(i) => match pick(*i) {
                    Some(id) => s.reopen_contact(id).map(|_| ()),
                    None => Ok(()),
                },
                Op::Assign { contact, op, force, any } => match pick(*contact) {
                    Some(id) => {
                        let expect = if *any { Expect::Any } else { Expect::Waiting };
                        let res = s.assign_contact(id, &r(OPS[*op]), *force, expect).map(|_| ());
                        if res.is_ok() && *force {
                            allowed_over[*op] += 1;
                        }
                        res
                    }
                    None => Ok(()),
                },
                Op::MaxLoad { op, max } => {
                    let load = i64::from(s.operator(&r(OPS[*op])).unwrap().load);
                    let res = s
                        .update_operator(&r(OPS[*op]), &OperatorPatch { max_load: Some(*max), ..OperatorPatch::default() })
                        .map(|_| ());
                    if res.is_ok() {
                        allowed_over[*op] = (load - i64::from(*max)).max(0);
                    }
                    res
                }
                Op::Active { op, on } => s
                    .update_operator(&r(OPS[*op]), &OperatorPatch { active: Some(*on), ..OperatorPatch::default() })
                    .map(|_| ()),
                Op::Weight { op, source, weight } => s
                    .set_weight(&r(OPS[*op]), &r(SOURCES[*source]), *weight)
                    .map(|_| ()),
                Op::Drain => s.drain_all().map(|_| ()),
                Op::Batch { contacts, how } => {
                    let batch: Vec<NewContact> = contacts
                        .iter()
                        .map(|&(source, person, key)| {
                            let mut c = by_email(SOURCES[source], &format!("p{person}@x.io"));
                            c.idempotency_key = key.map(|k| format!("k{k}"));
                            c
                        })
                        .collect();
                    let valid = || batch.iter().map(|c| c.validate().unwrap()).collect::<Vec<_>>();
                    let results = match how {
                        0 => s.add_contacts(&batch),
                        1 => s.add_valid_contacts(&valid()),
                        _ => s.add_valid_contacts_within(&valid(), std::time::Duration::ZERO),
                    };
                    results.map(|results| {
                        assert_eq!(results.len(), batch.len(), "nobody waits: the whole batch");
                        for res in results {
                            assert!(res.is_ok(), "{res:?}");
                        }
                    })
                }
            };
            if let Err(e) = &result {
                prop_assert!(expected_refusal(e), "{op:?} failed unexpectedly: {e:?}");
            }
            let conn = s.connection();
            for (k, (name, load, open, max)) in common::loads(conn).into_iter().enumerate() {
                prop_assert_eq!(load, open, "{} after {:?}", name, op);
                prop_assert!(
                    load <= max + allowed_over[k],
                    "{} at {}/{} after {:?}: more than the {} over a person allowed",
                    name, load, max, op, allowed_over[k]
                );
                // What is still over carries to the next step, and no more.
                allowed_over[k] = (load - max).max(0);
            }
            let idle = common::idle_capacity(conn);
            prop_assert!(idle.is_empty(), "waiting contacts in {:?} while an operator is free, after {:?}", idle, op);
            let dup_keys = common::count(conn, "SELECT count(*) FROM (SELECT 1 FROM contact WHERE idempotency_key IS NOT NULL GROUP BY source_id, idempotency_key HAVING count(*) > 1)");
            prop_assert_eq!(dup_keys, 0);
        }
    }
}

#[test]
fn the_database_refuses_automatic_routing_past_max_load() {
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 1, true, 1), ("bob", 5, false, 0)]);
    let held = add(&mut s, &by_email("web", "a@x.io")).contact;
    assert_eq!(held.operator.as_deref(), Some("ann"));
    let waiting = add(&mut s, &by_email("web", "b@x.io")).contact;
    assert_eq!(waiting.status, ContactStatus::Waiting);
    let ann = s.operator(&r("ann")).unwrap().id;
    let bob = s.operator(&r("bob")).unwrap().id;
    let conn = s.connection();

    // (New contacts add to operator.load in intake itself, through an UPDATE that
    // must change one row: `WHERE load + n <= max_load AND active = 1`.)
    // A waiting contact routed automatically to a full, then an inactive operator.
    for op in [ann, bob] {
        let err = conn
            .execute(
                "UPDATE contact SET status = 'active', operator_id = ?1, assigned_at = 0, assigned_by = 'auto'
                 WHERE id = ?2",
                rusqlite::params![op, waiting.id],
            )
            .unwrap_err();
        assert!(err.to_string().contains("exceed max_load"), "{err}");
    }
    let loads = common::loads(conn);
    assert_eq!(loads[0], ("ann".into(), 1, 1, 1));
    assert_eq!(loads[1], ("bob".into(), 0, 0, 5));
    // A person may: the same update by name goes through and is counted.
    conn.execute(
        "UPDATE contact SET status = 'active', operator_id = ?1, assigned_at = 0, assigned_by = 'tester'
         WHERE id = ?2",
        rusqlite::params![ann, waiting.id],
    )
    .unwrap();
    assert_eq!(common::loads(conn)[0], ("ann".into(), 2, 2, 1));
    assert_eq!(
        status_of(&mut s, waiting.id),
        (ContactStatus::Active, Some("ann".into()))
    );
}

// ---------------------------------------------------------------- delete rules

#[test]
fn an_operator_holding_open_contacts_cannot_be_deleted() {
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 3, true, 1)]);
    let c = add(&mut s, &by_email("web", "a@x.io")).contact;
    let err = s.delete_operator(&r("ann")).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::InUse {
                kind: "operator",
                count: 1..,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(s.operators().unwrap().len(), 1);
    s.close_contact(c.id).unwrap();
    let gone = s.delete_operator(&r("ann")).unwrap();
    assert_eq!(gone.name, "ann");
    assert!(s.operators().unwrap().is_empty());
    assert!(s.weights().unwrap().is_empty(), "its weights went with it");
    let closed = s.contact(c.id).unwrap();
    assert_eq!(closed.status, ContactStatus::Closed);
    assert_eq!(closed.operator_id, None);
    // Reopening a contact whose operator is gone makes it wait.
    assert_eq!(
        s.reopen_contact(c.id).unwrap().status,
        ContactStatus::Waiting
    );
}

#[test]
fn a_source_with_contacts_cannot_be_deleted() {
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 3, true, 1)]);
    s.add_source("spare", "", Strategy::Weighted).unwrap();
    s.set_weight(&r("ann"), &r("spare"), 2).unwrap();
    let c = add(&mut s, &by_email("web", "a@x.io")).contact;
    s.close_contact(c.id).unwrap();
    let err = s.delete_source(&r("web")).unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::InUse {
                kind: "source",
                count: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(s.sources().unwrap().len(), 2);
    assert_eq!(s.delete_source(&r("spare")).unwrap().name, "spare");
    let names: Vec<String> = s.sources().unwrap().into_iter().map(|x| x.name).collect();
    assert_eq!(names, ["web"]);
    assert_eq!(s.weights().unwrap().len(), 1);
}

// ---------------------------------------------------------------- batch intake

/// One incoming contact with identifiers and keys drawn from pools of `n` values
/// each: small pools make leads match each other, fill in identifiers, conflict, and
/// keys repeat; larger ones leave many contacts sharing nothing with the others.
fn arb_contact_from(n: usize) -> impl Generate<Value = NewContact> {
    let pick = move |make: fn(usize) -> String| {
        prop_oneof![Just(None), (0..n).prop_map(move |i| Some(make(i)))]
    };
    (
        proptest::sample::select(&["web", "web", "tg", "nowhere"][..]),
        pick(|i| format!("x{i}")),
        // Two spellings of one number: matching goes by the normalized phone.
        pick(|i| {
            if i % 2 == 0 {
                format!("+1 555 {i:04}")
            } else {
                format!("+1555{i:04}")
            }
        }),
        pick(|i| {
            if i % 3 == 0 {
                format!(" E{i}@x.io")
            } else {
                format!("e{i}@x.io")
            }
        }),
        prop_oneof![
            Just(None),
            Just(Some("Ann".to_string())),
            Just(Some("Bo".to_string()))
        ],
        pick(|i| format!("k{i}")),
    )
        .prop_map(
            |(source, external_id, phone, email, name, key)| NewContact {
                source: Some(r(source)),
                external_id,
                phone,
                email,
                name,
                message: Some("hello".into()),
                idempotency_key: key,
            },
        )
}

/// A store with sources, operators (one soon full, one inactive) and `before` taken
/// in one by one, so a batch starts from leads and keys that exist.
fn batch_fixture(dir: &Path, name: &str, before: &[NewContact]) -> Store {
    let mut s = open_seeded(&dir.join(name), 11);
    s.set_clock(Some(1_700_000_000_000));
    setup(
        &mut s,
        &[
            ("ann", 40, true, 3),
            ("bob", 1_000, true, 1),
            ("cid", 5, false, 2),
        ],
    );
    s.add_source("tg", "", Strategy::Capacity).unwrap();
    s.set_weight(&r("ann"), &r("tg"), 2).unwrap();
    s.set_weight(&r("bob"), &r("tg"), 1).unwrap();
    for c in before {
        // A contact without identifiers or from an unknown source is refused; the
        // fixture goes on without it. Anything else is a defect.
        if let Err(e) = s.add_contact(c) {
            assert!(
                matches!(e, StoreError::Invalid(_) | StoreError::NotFound { .. }),
                "{c:?}: {e:?}"
            );
        }
    }
    s
}

fn outcome(r: Result<Intake, StoreError>) -> Result<Intake, String> {
    r.map_err(|e| e.to_string())
}

/// Every row of `sql`, each value in its debug form.
fn table(s: &Store, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = s.connection().prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |row| {
        (0..n)
            .map(|i| {
                row.get::<_, rusqlite::types::Value>(i)
                    .map(|v| format!("{v:?}"))
            })
            .collect::<rusqlite::Result<Vec<String>>>()
    })
    .unwrap()
    .collect::<rusqlite::Result<_>>()
    .unwrap()
}

/// Takes `batch` in one by one on one store and as one batch on another, both
/// starting from `before`; everything must come out the same.
fn assert_batch_equals_one_by_one(
    before: &[NewContact],
    batch: &[NewContact],
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut each = batch_fixture(dir.path(), "each.db", before);
    let mut whole = batch_fixture(dir.path(), "whole.db", before);
    let one_by_one: Vec<_> = batch.iter().map(|c| outcome(each.add_contact(c))).collect();
    let at_once: Vec<_> = whole
        .add_contacts(batch)
        .unwrap()
        .into_iter()
        .map(outcome)
        .collect();
    prop_assert_eq!(one_by_one, at_once);
    for sql in [
        "SELECT * FROM lead ORDER BY id",
        "SELECT * FROM contact ORDER BY id",
        "SELECT id, load, assigned_day, assigned_day_count FROM operator ORDER BY id",
        "SELECT id, total, waiting, received_day, received_day_count FROM source ORDER BY id",
        "SELECT source_id, operator_id, contacts FROM routed ORDER BY source_id, operator_id",
    ] {
        prop_assert_eq!(table(&each, sql), table(&whole, sql), "{}", sql);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// A batch (one transaction, loads followed in memory, duplicates of its own
    /// contacts among them) gives exactly what taking its contacts one by one gives:
    /// the same results, leads, contacts, loads, day counts and source counters.
    #[test]
    fn a_batch_equals_its_contacts_one_by_one(
        before in proptest::collection::vec(arb_contact_from(6), 0..20),
        batch in proptest::collection::vec(arb_contact_from(6), 0..150),
    ) {
        assert_batch_equals_one_by_one(&before, &batch)?;
    }

    /// The same for long batches over larger pools: many new leads, fewer repeats,
    /// fills of leads that exist from before the batch.
    #[test]
    fn a_long_batch_equals_its_contacts_one_by_one(
        before in proptest::collection::vec(arb_contact_from(200), 0..120),
        batch in proptest::collection::vec(arb_contact_from(200), 250..400),
    ) {
        assert_batch_equals_one_by_one(&before, &batch)?;
    }
}

// ---------------------------------------------------------------- compare-and-set

#[test]
fn two_stores_assigning_one_waiting_contact_second_is_told_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let mut s1 = open_seeded(&path, 1);
    setup(&mut s1, &[("ann", 3, true, 0), ("bob", 3, true, 0)]);
    let mut s2 = open_seeded(&path, 2);
    s2.set_actor("other-supervisor").unwrap();
    let c = add(&mut s1, &by_email("web", "a@x.io")).contact;
    // Both see it waiting.
    assert_eq!(s2.contact(c.id).unwrap().status, ContactStatus::Waiting);
    assert_eq!(s1.contact(c.id).unwrap().status, ContactStatus::Waiting);

    let won = s1
        .assign_contact(c.id, &r("ann"), false, Expect::Waiting)
        .unwrap();
    assert_eq!(won.operator.as_deref(), Some("ann"));
    assert_eq!(won.assigned_by.as_deref(), Some("tester"));
    let err = s2
        .assign_contact(c.id, &r("bob"), false, Expect::Waiting)
        .unwrap_err();
    match &err {
        StoreError::AlreadyAssigned { contact, operator } => {
            assert_eq!((*contact, operator.as_str()), (c.id, "ann"));
        }
        other => panic!("expected AlreadyAssigned, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!("contact #{} was already assigned to ann", c.id)
    );
    assert_eq!(load_of(&mut s2, "ann"), 1);
    assert_eq!(load_of(&mut s2, "bob"), 0);

    // Reassignment is compare-and-set on the holder too.
    let ann = s1.operator(&r("ann")).unwrap().id;
    s2.assign_contact(c.id, &r("bob"), false, Expect::Operator(ann))
        .unwrap();
    let err = s1
        .assign_contact(c.id, &r("ann"), false, Expect::Operator(ann))
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyAssigned { operator, .. } if operator == "bob"),
        "{err:?}"
    );
    assert_eq!(load_of(&mut s1, "ann"), 0);
    assert_eq!(load_of(&mut s1, "bob"), 1);
}

// ---------------------------------------------------------------- intake

#[test]
fn idempotency_keys_are_per_source_and_hold_within_a_batch() {
    let (_d, mut s) = fresh();
    setup(&mut s, &[("ann", 10, true, 1)]);
    s.add_source("tg", "", Strategy::Weighted).unwrap();
    let mut k = by_email("web", "a@x.io");
    k.idempotency_key = Some("key-1".into());
    let first = add(&mut s, &k);
    assert!(!first.duplicate);
    let mut again = by_email("web", "zzz@x.io");
    again.idempotency_key = Some("key-1".into());
    let second = add(&mut s, &again);
    assert!(second.duplicate);
    assert_eq!(second.contact, first.contact);
    let mut other_source = again.clone();
    other_source.source = Some(r("tg"));
    assert!(!add(&mut s, &other_source).duplicate);

    let mut b = by_email("web", "b@x.io");
    b.idempotency_key = Some("key-2".into());
    let results = s
        .add_contacts(&[
            b.clone(),
            by_email("nope", "c@x.io"),
            b.clone(),
            by_email("web", ""),
        ])
        .unwrap();
    assert_eq!(results.len(), 4);
    let r0 = results[0].as_ref().unwrap();
    assert!(!r0.duplicate);
    assert!(matches!(
        &results[1],
        Err(StoreError::NotFound { kind: "source", .. })
    ));
    let r2 = results[2].as_ref().unwrap();
    assert!(r2.duplicate);
    assert_eq!(r2.contact.id, r0.contact.id);
    assert!(matches!(&results[3], Err(StoreError::Invalid(_))));
    assert_eq!(
        common::count(s.connection(), "SELECT count(*) FROM contact"),
        3
    );
    assert_eq!(load_of(&mut s, "ann"), 2);
}

#[test]
fn refuses_files_it_must_not_touch() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "just some text, long enough for a header\n").unwrap();
    let err = Store::open(&text, OpenOptions::default())
        .err()
        .expect("refused");
    assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");

    let newer = dir.path().join("newer.db");
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch(
            "CREATE TABLE t (x); PRAGMA user_version = 99; PRAGMA application_id = 0x53574244;",
        )
        .unwrap();
    let err = Store::open(&newer, OpenOptions::default())
        .err()
        .expect("refused");
    assert!(
        matches!(
            err,
            StoreError::NewerSchema {
                found: 99,
                known,
                ..
            } if known == switchboard::store::latest_version()
        ),
        "{err:?}"
    );
}
