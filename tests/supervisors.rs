//! Several supervisors at once on one file: every action taken from a screen carries
//! what the supervisor saw, and lands only where that still holds. Each test plays a
//! sequence with a TUI `App` and a second writer (the real binary, as another
//! supervisor's CLI, or another `App`) on one file.

mod tui_support;

use std::path::Path;
use std::process::Command;

use switchboard::domain::{ContactStatus, EntityRef};
use switchboard::store::{AuditEntry, NewContact, OpenOptions, Store, StoreError};
use switchboard::tui::action::Action;
use tui_support::{Fixture, message, press, screen, type_text};

/// The fixture's waiting contacts (phone: no operator has a weight for it), newest
/// first, and its closed ones.
const WAITING: [i64; 3] = [11, 8, 4];
const CLOSED: [i64; 2] = [6, 3];

/// Runs the real binary on `path` as another supervisor ("bob") and checks it worked.
fn other_supervisor(path: &Path, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--db")
        .arg(path)
        .args(["--actor", "bob"])
        .args(args)
        .env_remove("SWITCHBOARD_DB")
        .env_remove("SWITCHBOARD_SEED")
        .output()
        .expect("run switchboard");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn contact(f: &Fixture, id: i64) -> switchboard::store::Contact {
    f.store().contact(id).unwrap()
}

fn audit(f: &Fixture) -> Vec<AuditEntry> {
    f.store().audit_log(None, None, 1_000).unwrap()
}

/// Moves the open assign picker's cursor to `name`.
fn pick(app: &mut switchboard::tui::App, name: &str) {
    for _ in 0..10 {
        if app.picker_operator() == Some(name) {
            return;
        }
        press(app, "j");
    }
    panic!("{name} is not in the picker");
}

fn new_contact(f: &Fixture, n: usize) -> i64 {
    f.store()
        .add_contact(&NewContact {
            source: Some(EntityRef::parse("phone")),
            phone: Some(format!("+1 555 010 {n:04}")),
            message: Some(format!("new {n}")),
            ..NewContact::default()
        })
        .unwrap()
        .contact
        .id
}

// ----- 1. bulk actions carry the state each contact was marked in -----

#[test]
fn bulk_assign_skips_a_contact_another_supervisor_took_meanwhile() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4 w");
    assert_eq!(app.feed_ids(), WAITING);
    // Mark the two newest waiting contacts.
    press(&mut app, "space space");
    // Meanwhile bob assigns one of them by force from the CLI.
    other_supervisor(&f.path, &["contact", "assign", "8", "Chen Wei", "--force"]);
    app.update(Action::Tick);
    // Waiting only: #8 left the view, and the header says the mark is out of view.
    assert!(!app.feed_ids().contains(&8));
    let t = screen(&mut app, 80, 24);
    assert!(t.contains("2 marked (1 out of view)"), "{t}");
    press(&mut app, "a");
    pick(&mut app, "Boris Ivanov");
    // Boris has room for 1 of the 2 marked: the picker says so and asks first.
    let t = screen(&mut app, 80, 24);
    assert!(t.contains("room for 1 of 2"), "{t}");
    assert!(t.contains("1 changed since marked"), "{t}");
    press(&mut app, "enter y");
    let m = message(&app);
    assert!(
        m.contains("1 of 2 assigned to Boris Ivanov")
            && m.contains("#8 was assigned to Chen Wei meanwhile: skipped"),
        "{m}"
    );
    // Bob's assignment holds; the other marked contact went to Boris.
    assert_eq!(contact(&f, 8).operator.as_deref(), Some("Chen Wei"));
    assert_eq!(contact(&f, 11).operator.as_deref(), Some("Boris Ivanov"));
    // No reassignment by ann, and ann's assignment of #11 was not forced: with #8
    // skipped, Boris had room.
    let log = audit(&f);
    assert!(
        !log.iter()
            .any(|e| e.action == "contact.reassign" || (e.entity_id == Some(8) && e.actor == "ann")),
        "{log:#?}"
    );
    let mine = log
        .iter()
        .find(|e| e.entity_id == Some(11) && e.action == "contact.assign")
        .unwrap();
    assert!(
        mine.after.as_ref().unwrap().get("forced").is_none(),
        "{mine:?}"
    );
}

#[test]
fn bulk_close_and_reopen_skip_contacts_changed_meanwhile() {
    let f = Fixture::new();
    let mut app = f.app();
    // Close: mark #11 and #8 (waiting); bob assigns #8 meanwhile.
    press(&mut app, "4 w space space");
    other_supervisor(&f.path, &["contact", "assign", "8", "Boris Ivanov"]);
    // Closing several asks first; the answer applies what still holds.
    press(&mut app, "c");
    assert!(app.has_dialog(), "{}", message(&app));
    press(&mut app, "y");
    let m = message(&app);
    assert!(
        m.contains("1 of 2 closed")
            && m.contains("#8 was assigned to Boris Ivanov meanwhile: skipped"),
        "{m}"
    );
    assert_eq!(contact(&f, 11).status, ContactStatus::Closed);
    assert_eq!(contact(&f, 8).status, ContactStatus::Active);

    // Reopen: mark the two closed contacts of the fixture; bob reopens #3 meanwhile.
    press(&mut app, "w g");
    let ids = app.feed_ids();
    for id in CLOSED {
        while app.selected_contact_id() != Some(id) {
            press(&mut app, "j");
        }
        press(&mut app, "space");
    }
    assert!(ids.contains(&3) && ids.contains(&6));
    other_supervisor(&f.path, &["contact", "reopen", "3"]);
    press(&mut app, "o");
    let m = message(&app);
    assert!(
        m.contains("1 of 2 reopened") && m.contains("#3 was reopened meanwhile"),
        "{m}"
    );
    // Bob's reopen stands as he left it: one reopen of #3 in the log, by bob.
    let reopens: Vec<_> = audit(&f)
        .into_iter()
        .filter(|e| e.action == "contact.reopen" && e.entity_id == Some(3))
        .collect();
    assert_eq!(reopens.len(), 1);
    assert_eq!(reopens[0].actor, "bob");
}

#[test]
fn a_single_stale_selection_is_refused_by_the_store_too() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4 w");
    assert_eq!(app.selected_contact_id(), Some(11));
    // Bob assigns the selected contact; this App has not refreshed yet.
    other_supervisor(&f.path, &["contact", "assign", "11", "Chen Wei"]);
    press(&mut app, "c");
    assert_eq!(
        message(&app),
        "#11 was assigned to Chen Wei meanwhile: skipped"
    );
    assert_eq!(contact(&f, 11).status, ContactStatus::Active);
}

// ----- 2. one eligibility rule -----

#[test]
fn the_picker_says_every_reason_and_how_much_room_is_left() {
    let f = Fixture::new();
    let mut store = f.store();
    // Hugo (inactive, 1/2) becomes full as well.
    tui_support::set_max_load(&mut store, EntityRef::parse("Hugo Lefebvre"), 1);
    let mut app = f.app();
    press(&mut app, "4 w space space space a");
    let t = screen(&mut app, 100, 30);
    let line = |name: &str| t.lines().find(|l| l.contains(name)).unwrap().to_string();
    assert!(line("Hugo Lefebvre").contains("inactive, full"), "{t}");
    assert!(line("Chen Wei").contains("room for 2 of 3"), "{t}");
    assert!(line("Boris Ivanov").contains("room for 1 of 3"), "{t}");
    assert!(line("Anna Petrova").contains("full"), "{t}");
    // The store's force check is the same rule: without force, Chen is refused for 3.
    let err = store
        .assign_contacts(
            &WAITING.map(|id| (id, switchboard::store::Seen::of(&contact(&f, id)))),
            &EntityRef::parse("Chen Wei"),
            false,
        )
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::NeedsForce { why, .. } if why == "room for 2 of 3 (2/4)"),
        "{err}"
    );
}

// ----- 3. the cursor is a contact -----

#[test]
fn the_cursor_stays_on_its_contact_while_new_ones_arrive() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4");
    screen(&mut app, 80, 24);
    assert!(app.feed_following());
    // Down to the bottom row of the page.
    let rows = app.feed_ids().len();
    for _ in 1..rows {
        press(&mut app, "j");
    }
    let picked = app.selected_contact_id().unwrap();
    assert_eq!(picked, *app.feed_ids().last().unwrap());
    assert!(!app.feed_following(), "moving stops following");
    for n in 0..3 {
        new_contact(&f, n);
        app.update(Action::Tick);
        assert_eq!(app.selected_contact_id(), Some(picked), "after arrival {n}");
    }
    let t = screen(&mut app, 80, 24);
    assert!(
        t.contains("paused (g: follow)") && t.contains("3 new"),
        "{t}"
    );
    // The next action acts on the contact the supervisor picked.
    let before = contact(&f, picked);
    press(&mut app, "c");
    if before.status.can_close() {
        assert_eq!(contact(&f, picked).status, ContactStatus::Closed);
    } else {
        assert!(
            message(&app).contains(&format!("#{picked}")),
            "{}",
            message(&app)
        );
    }
    // g follows again: the selection is the newest contact, and stays the newest.
    press(&mut app, "g");
    assert!(app.feed_following());
    let newest = new_contact(&f, 9);
    app.update(Action::Tick);
    assert_eq!(app.selected_contact_id(), Some(newest));
}

#[test]
fn a_selection_that_leaves_the_view_says_so_and_is_not_replaced_by_a_neighbour() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4 w j");
    assert_eq!(app.selected_contact_id(), Some(8));
    other_supervisor(&f.path, &["contact", "assign", "8", "Chen Wei"]);
    app.update(Action::Tick);
    assert_eq!(app.selection_out_of_view(), Some(8));
    assert_eq!(app.selected_contact_id(), None);
    let t = screen(&mut app, 80, 24);
    assert!(t.contains("#8 left the view"), "{t}");
    // Nothing acts on a neighbour.
    press(&mut app, "c");
    assert!(
        message(&app).contains("#8 is not in view"),
        "{}",
        message(&app)
    );
    assert_eq!(contact(&f, 4).status, ContactStatus::Waiting);
    assert_eq!(contact(&f, 11).status, ContactStatus::Waiting);
    // A movement picks the row next to where it was.
    press(&mut app, "j");
    assert_eq!(app.selected_contact_id(), Some(4));
}

#[test]
fn a_filter_change_keeps_the_selected_contact() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4");
    // Select waiting #8 in the full feed, then show waiting only: still #8.
    while app.selected_contact_id() != Some(8) {
        press(&mut app, "j");
    }
    press(&mut app, "w");
    assert_eq!(app.selected_contact_id(), Some(8));
    press(&mut app, "w");
    assert_eq!(app.selected_contact_id(), Some(8));
}

// ----- 4. forms write only what was edited, and notice conflicts -----

fn max_load(f: &Fixture, name: &str) -> u32 {
    f.store()
        .operator(&EntityRef::parse(name))
        .unwrap()
        .max_load
}

fn operator_updates(f: &Fixture) -> usize {
    audit(f)
        .iter()
        .filter(|e| e.action == "operator.update")
        .count()
}

#[test]
fn an_untouched_form_does_not_write_back_an_old_value() {
    let f = Fixture::new();
    let mut app = f.app();
    // Supervisor A opens the edit form on Anna (max load 3).
    press(&mut app, "e");
    let t = screen(&mut app, 80, 24);
    assert!(t.contains("Edit operator 'Anna Petrova'"), "{t}");
    // Supervisor B raises it to 8.
    other_supervisor(
        &f.path,
        &["operator", "set", "Anna Petrova", "--max-load", "8"],
    );
    let updates = operator_updates(&f);
    // A presses Enter without touching anything.
    press(&mut app, "enter");
    assert_eq!(max_load(&f, "Anna Petrova"), 8);
    assert_eq!(message(&app), "nothing changed; nothing saved");
    assert_eq!(operator_updates(&f), updates, "no audit entry");
}

#[test]
fn a_form_shows_a_conflicting_change_and_asks_before_overwriting() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "e tab");
    other_supervisor(
        &f.path,
        &["operator", "set", "Anna Petrova", "--max-load", "8"],
    );
    // A types 5 over the 3 the form opened with.
    press(&mut app, "backspace");
    type_text(&mut app, "5");
    press(&mut app, "enter");
    assert!(app.has_dialog(), "the form stays open");
    assert_eq!(max_load(&f, "Anna Petrova"), 8, "nothing written yet");
    let t = screen(&mut app, 100, 30);
    assert!(
        t.contains("Changed by someone else")
            && t.contains("Max load: 8 now (you saw 3; yours: 5)"),
        "{t}"
    );
    // Enter again: A's value goes over B's.
    press(&mut app, "enter");
    assert!(!app.has_dialog());
    assert_eq!(max_load(&f, "Anna Petrova"), 5);
    let last = audit(&f)
        .into_iter()
        .find(|e| e.action == "operator.update")
        .unwrap();
    assert_eq!(last.actor, "ann");
    assert_eq!(last.before.unwrap()["max_load"], 8);
}

#[test]
fn a_form_writes_only_the_field_that_was_edited() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "e");
    other_supervisor(
        &f.path,
        &["operator", "set", "Anna Petrova", "--max-load", "8"],
    );
    // A renames only.
    for _ in 0.."Petrova".len() {
        press(&mut app, "backspace");
    }
    type_text(&mut app, "Smirnova");
    press(&mut app, "enter");
    assert!(!app.has_dialog(), "{}", message(&app));
    let anna = f
        .store()
        .operator(&EntityRef::parse("Anna Smirnova"))
        .unwrap();
    assert_eq!(anna.max_load, 8, "B's max load stays");
}

#[test]
fn quick_edits_check_the_value_on_screen() {
    let f = Fixture::new();
    let mut app = f.app();
    // A sees Anna at 3; B sets 8; A presses + (meaning 4).
    other_supervisor(
        &f.path,
        &["operator", "set", "Anna Petrova", "--max-load", "8"],
    );
    press(&mut app, "+");
    assert_eq!(max_load(&f, "Anna Petrova"), 8);
    let m = message(&app);
    assert!(m.contains("max load is now 8 (you saw 3)"), "{m}");
    // After the refresh A sees 8, and + means 9.
    press(&mut app, "+");
    assert_eq!(max_load(&f, "Anna Petrova"), 9);
    // The same for a weight cell and a source's strategy.
    press(&mut app, "3");
    other_supervisor(&f.path, &["weight", "set", "Anna Petrova", "phone", "7"]);
    // The first column is phone: Enter edits it, 2, Enter sets.
    press(&mut app, "enter");
    type_text(&mut app, "2");
    press(&mut app, "enter");
    let m = message(&app);
    assert!(m.contains("weight is now 7 (you saw 0)"), "{m}");
    let w = f.store().weights().unwrap();
    assert!(
        w.iter()
            .any(|w| w.operator == "Anna Petrova" && w.source == "phone" && w.weight == 7)
    );
}

// ----- 5. a reassignment says so -----

#[test]
fn assigning_a_held_contact_names_its_operator_and_asks_first() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4");
    let id = app.selected_contact_id().unwrap();
    let holder = contact(&f, id).operator.unwrap();
    press(&mut app, "a");
    let t = screen(&mut app, 80, 24);
    assert!(t.contains(&format!("now with {holder}")), "{t}");
    pick(&mut app, "Chen Wei");
    press(&mut app, "enter");
    let t = screen(&mut app, 80, 24);
    assert!(
        t.contains("Reassign?") && t.contains(&format!("#{id} is with {holder} now")),
        "{t}"
    );
    // Esc: nothing moves.
    press(&mut app, "esc");
    assert_eq!(contact(&f, id).operator.as_deref(), Some(holder.as_str()));
    // Again, with yes.
    press(&mut app, "a");
    pick(&mut app, "Chen Wei");
    press(&mut app, "enter y");
    assert_eq!(contact(&f, id).operator.as_deref(), Some("Chen Wei"));
    assert!(
        audit(&f)
            .iter()
            .any(|e| e.action == "contact.reassign" && e.entity_id == Some(id))
    );
}

// ----- 6. --read-only is read-only at the file -----

fn file_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn read_only_refuses_a_file_that_needs_a_migration_and_leaves_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    switchboard::store::create_at_schema_version(&path, 1).unwrap();
    let before = file_bytes(&path);
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--db")
        .arg(&path)
        .arg("--read-only")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "needs a migration (schema version 1 -> {})",
            switchboard::store::latest_version()
        )) && err.contains("init"),
        "{err}"
    );
    assert_eq!(file_bytes(&path), before, "the file was not migrated");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 1);
}

#[test]
fn read_only_store_cannot_write_even_by_hand() {
    let f = Fixture::new();
    let before = file_bytes(&f.path);
    let mut ro = Store::open(
        &f.path,
        OpenOptions {
            read_only: true,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    assert!(ro.is_read_only());
    assert_eq!(ro.operators().unwrap().len(), 4, "reads work");
    let err = ro.add_operator("Zed", 1, true).unwrap_err();
    assert!(matches!(err, StoreError::ReadOnly(_)), "{err}");
    // The connection itself is read-only: SQLite refuses a raw write.
    let raw = ro
        .connection()
        .execute("UPDATE operator SET max_load = 99", []);
    assert!(raw.is_err(), "a raw write went through");
    // A read-only TUI on the file, every editing key pressed: nothing changes.
    let mut app = switchboard::tui::App::new(
        ro,
        switchboard::tui::AppOptions {
            read_only: true,
            ..switchboard::tui::AppOptions::for_tests().unwrap()
        },
    )
    .unwrap();
    press(&mut app, "space + - d 4 a c o A");
    drop(app);
    assert_eq!(file_bytes(&f.path), before);
}

#[test]
fn read_only_on_a_missing_file_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.db");
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg("--db")
        .arg(&path)
        .arg("--read-only")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));
    assert!(!path.exists());
}

// ----- property: interleavings never move what the acting supervisor did not see -----

mod interleavings {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use proptest::strategy::Strategy as Generate;
    use switchboard::domain::{ContactStatus, EntityRef, Strategy};
    use switchboard::store::{
        Contact, Durability, Expect, FeedFilter, NewContact, OpenOptions, Outcome, Seen, Skip,
        Store,
    };

    const OPS: [&str; 3] = ["ann-op", "bob-op", "cid-op"];
    const SOURCES: [&str; 3] = ["web", "tg", "phone"];

    #[derive(Debug, Clone)]
    enum Step {
        /// A contact arrives (intake, its own connection).
        Intake { source: usize, person: u8 },
        /// Supervisor B acts on one contact as the CLI does.
        Other { pick: usize, kind: u8, op: usize },
        /// Supervisor A marks some contacts, remembering how each looked.
        Mark { picks: Vec<usize> },
        /// Supervisor A acts on its marks.
        Act { kind: u8, op: usize, force: bool },
    }

    fn step() -> impl Generate<Value = Step> {
        prop_oneof![
            3 => (0..3usize, 0..8u8).prop_map(|(source, person)| Step::Intake { source, person }),
            3 => (any::<usize>(), 0..4u8, 0..3usize)
                .prop_map(|(pick, kind, op)| Step::Other { pick, kind, op }),
            2 => proptest::collection::vec(any::<usize>(), 1..5).prop_map(|picks| Step::Mark { picks }),
            2 => (0..3u8, 0..3usize, any::<bool>())
                .prop_map(|(kind, op, force)| Step::Act { kind, op, force }),
        ]
    }

    fn open(path: &std::path::Path, actor: &str, seed: u64) -> Store {
        Store::open(
            path,
            OpenOptions {
                seed: Some(seed),
                durability: Durability::Normal,
                actor: Some(actor.into()),
                ..OpenOptions::default()
            },
        )
        .unwrap()
    }

    fn all(s: &mut Store) -> HashMap<i64, Contact> {
        s.contacts(&FeedFilter::default(), None, 10_000)
            .unwrap()
            .into_iter()
            .map(|c| (c.id, c))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

        #[test]
        fn bulk_actions_touch_only_contacts_still_as_seen(
            steps in proptest::collection::vec(step(), 1..40),
            seed in any::<u64>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("p.db");
            let mut a = open(&path, "ann", seed);
            let mut b = open(&path, "bob", seed ^ 1);
            let mut intake = open(&path, "intake", seed ^ 2);
            for (i, op) in OPS.iter().enumerate() {
                b.add_operator(op, 2 + i as u32, true).unwrap();
            }
            for s in SOURCES {
                b.add_source(s, "", Strategy::Weighted).unwrap();
            }
            for (op, src) in [(0, 0), (1, 0), (1, 1), (2, 1)] {
                b.set_weight(&EntityRef::parse(OPS[op]), &EntityRef::parse(SOURCES[src]), 1 + op as u32)
                    .unwrap();
            }
            let mut marks: Vec<(i64, Seen)> = Vec::new();
            for step in steps {
                match step {
                    Step::Intake { source, person } => {
                        intake
                            .add_contact(&NewContact {
                                source: Some(EntityRef::parse(SOURCES[source])),
                                email: Some(format!("p{person}@example.com")),
                                ..NewContact::default()
                            })
                            .unwrap();
                    }
                    Step::Other { pick, kind, op } => {
                        let ids: Vec<i64> = all(&mut b).into_keys().collect();
                        if ids.is_empty() {
                            continue;
                        }
                        let id = ids[pick % ids.len()];
                        // Refusals (closed, already held, ...) are fine here.
                        let _ = match kind {
                            0 => b.assign_contact(id, &EntityRef::parse(OPS[op]), true, Expect::Any).map(drop),
                            1 => b.close_contact(id).map(drop),
                            2 => b.reopen_contact(id).map(drop),
                            _ => b.drain_all().map(drop),
                        };
                    }
                    Step::Mark { picks } => {
                        let now = all(&mut a);
                        let mut ids: Vec<i64> = now.keys().copied().collect();
                        ids.sort_unstable();
                        if ids.is_empty() {
                            continue;
                        }
                        for p in picks {
                            let c = &now[&ids[p % ids.len()]];
                            if !marks.iter().any(|(id, _)| *id == c.id) {
                                marks.push((c.id, Seen::of(c)));
                            }
                        }
                    }
                    Step::Act { kind, op, force } => {
                        if marks.is_empty() {
                            continue;
                        }
                        let before = all(&mut b);
                        let audit_before = b.audit_log(None, None, 1).unwrap().first().map_or(0, |e| e.id);
                        let result = match kind {
                            0 => a.assign_contacts(&marks, &EntityRef::parse(OPS[op]), force),
                            1 => a.close_contacts(&marks),
                            _ => a.reopen_contacts(&marks),
                        };
                        let after = all(&mut b);
                        let outcomes = match result {
                            Ok(o) => o,
                            Err(switchboard::store::StoreError::NeedsForce { .. }) => {
                                prop_assert!(!force);
                                prop_assert_eq!(&before, &after, "a refused action changed something");
                                continue;
                            }
                            Err(e) => panic!("unexpected error: {e}"),
                        };
                        let seen: HashMap<i64, Seen> = marks.iter().copied().collect();
                        let mut done = Vec::new();
                        for o in &outcomes {
                            let id = o.id();
                            let was = Seen::of(&before[&id]);
                            match o {
                                Outcome::Done(_) => {
                                    prop_assert_eq!(was, seen[&id], "#{} acted on though it changed", id);
                                    done.push(id);
                                }
                                Outcome::Skipped { why: Skip::Changed { .. }, .. } => {
                                    prop_assert_ne!(was, seen[&id], "#{} skipped though unchanged", id);
                                }
                                Outcome::Skipped { .. } => {
                                    prop_assert_eq!(&before[&id], &after[&id]);
                                }
                            }
                        }
                        // Everything else is as it was, but for automatic routing of
                        // waiting contacts into freed capacity.
                        for (id, c) in &after {
                            if done.contains(id) {
                                continue;
                            }
                            let Some(b4) = before.get(id) else { continue };
                            if b4 != c {
                                prop_assert!(
                                    b4.status == ContactStatus::Waiting
                                        && c.status == ContactStatus::Active
                                        && c.assigned_by.as_deref() == Some("auto"),
                                    "#{} moved by A's action without being seen: {:?} -> {:?}", id, b4, c
                                );
                            }
                        }
                        // Every audit entry A wrote names a contact it was allowed to touch.
                        for e in b.audit_log(None, None, 1_000).unwrap() {
                            if e.id > audit_before && e.actor == "ann" {
                                prop_assert!(e.entity_id.is_some_and(|id| done.contains(&id)), "{:?}", e);
                            }
                        }
                        marks.clear();
                    }
                }
            }
        }
    }
}
