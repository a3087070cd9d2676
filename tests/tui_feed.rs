//! Issue 4 by keyboard: assigning (eligible, forced, conflicting), closing, reopening,
//! marking, draining, filters, the lead card, the audit log, the simulator, and the
//! feed's keyset paging.

mod tui_support;

use std::time::{Duration, Instant};

use switchboard::domain::{ContactStatus, EntityRef};
use switchboard::store::{Expect, FeedFilter, NewContact};
use switchboard::tui::action::Action;
use tui_support::{Fixture, message, press, screen, set_max_load, type_text};

fn waiting_ids(f: &Fixture) -> Vec<i64> {
    f.store()
        .contacts(
            &FeedFilter {
                status: Some(ContactStatus::Waiting),
                ..FeedFilter::default()
            },
            None,
            100,
        )
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

fn contact(f: &Fixture, id: i64) -> switchboard::store::Contact {
    f.store().contact(id).unwrap()
}

const NAMES: [&str; 4] = ["Anna Petrova", "Boris Ivanov", "Chen Wei", "Hugo Lefebvre"];

/// The assign picker's rows on screen `t`, top down: the lines inside the dialog's
/// box that start with an operator's name.
fn picker_rows(t: &str) -> Vec<&str> {
    t.lines()
        .filter(|l| {
            l.split('│')
                .nth(1)
                .is_some_and(|inside| NAMES.iter().any(|n| inside.starts_with(n)))
        })
        .collect()
}

/// The operators in the assign picker on screen `t`, top down.
fn picker_order(t: &str) -> Vec<&'static str> {
    picker_rows(t)
        .into_iter()
        .filter_map(|l| NAMES.into_iter().find(|n| l.contains(n)))
        .collect()
}

/// The picker's row of `name` on screen `t`.
fn picker_row<'t>(t: &'t str, name: &str) -> &'t str {
    picker_rows(t)
        .into_iter()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("{name} is not in the picker:\n{t}"))
}

#[test]
fn assign_a_waiting_contact_by_keyboard() {
    let f = Fixture::new();
    let mut app = f.app();
    // Waiting only, newest first: a phone contact, and nobody has a weight for phone.
    press(&mut app, "4 w");
    let id = app.selected_contact_id().unwrap();
    assert_eq!(contact(&f, id).status, ContactStatus::Waiting);
    press(&mut app, "a");
    let t = screen(&mut app, 80, 24);
    // The picker lists everyone: those with room first (assignable without force),
    // then the full, then the inactive, each with the reason.
    assert_eq!(
        picker_order(&t),
        ["Boris Ivanov", "Chen Wei", "Anna Petrova", "Hugo Lefebvre"],
        "{t}"
    );
    assert!(picker_row(&t, "Boris Ivanov").contains("no weight"), "{t}");
    assert!(picker_row(&t, "Anna Petrova").contains("full"), "{t}");
    assert!(picker_row(&t, "Hugo Lefebvre").contains("inactive"), "{t}");
    // Enter on the first row: Boris.
    press(&mut app, "enter");
    let c = contact(&f, id);
    assert_eq!(
        (c.status, c.operator.as_deref()),
        (ContactStatus::Active, Some("Boris Ivanov"))
    );
    assert_eq!(c.assigned_by.as_deref(), Some("ann"));
    assert!(message(&app).contains("assigned to Boris Ivanov"));
    // The row left the waiting-only page.
    assert!(!app.feed_ids().contains(&id));
}

#[test]
fn eligible_operators_come_first_with_weight_and_load() {
    let f = Fixture::new();
    // The newest contact is a telegram one Boris holds. For telegram Chen (40, 2/4)
    // and Boris (20, 1/2) are eligible, heavier weight first; then Anna (30, but
    // full), then Hugo (inactive).
    let mut app = f.app();
    press(&mut app, "4 a");
    let t = screen(&mut app, 120, 40);
    assert_eq!(
        picker_order(&t),
        ["Chen Wei", "Boris Ivanov", "Anna Petrova", "Hugo Lefebvre"],
        "{t}"
    );
    for (name, weight, load, why) in [
        ("Chen Wei", "40", "2/4", "eligible"),
        ("Boris Ivanov", "20", "1/2", "eligible"),
        ("Anna Petrova", "30", "3/3", "full"),
        ("Hugo Lefebvre", "10", "1/2", "inactive"),
    ] {
        let row = picker_row(&t, name);
        assert!(
            row.contains(&format!(" {weight} "))
                && row.contains(&format!(" {load} "))
                && row.contains(why),
            "{name}: {row}"
        );
    }
    press(&mut app, "esc");

    // Chen gets a weight for phone and takes its backlog while he has room (2/4 ->
    // 4/4): one phone contact is left waiting.
    let mut s = f.store();
    s.set_weight(&EntityRef::parse("Chen Wei"), &EntityRef::parse("phone"), 5)
        .unwrap();
    let waiting = waiting_ids(&f);
    assert_eq!(waiting.len(), 1);
    press(&mut app, "w a");
    let t = screen(&mut app, 120, 40);
    // Nobody is eligible for it: Boris (room, no weight) needs no force and comes
    // first; then the full ones, the heavier weight first (Chen 5, Anna none); the
    // inactive last.
    assert_eq!(
        picker_order(&t),
        ["Boris Ivanov", "Chen Wei", "Anna Petrova", "Hugo Lefebvre"],
        "{t}"
    );
    assert!(picker_row(&t, "Boris Ivanov").contains("no weight"), "{t}");
    let chen = picker_row(&t, "Chen Wei");
    assert!(
        chen.contains(" 5 ") && chen.contains("4/4") && chen.contains("full"),
        "{t}"
    );
    assert!(picker_row(&t, "Hugo Lefebvre").contains("inactive"), "{t}");
}

#[test]
fn a_full_or_inactive_operator_needs_confirmation_and_uses_force() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4 w");
    let id = app.selected_contact_id().unwrap();
    // Last row is Hugo (inactive): Enter asks, Esc cancels.
    press(&mut app, "a G enter");
    assert!(app.has_dialog());
    assert!(screen(&mut app, 80, 24).contains("Assign anyway?"));
    press(&mut app, "esc");
    assert_eq!(contact(&f, id).status, ContactStatus::Waiting);
    // y assigns with force.
    press(&mut app, "a G enter y");
    let c = contact(&f, id);
    assert_eq!(c.operator.as_deref(), Some("Hugo Lefebvre"));
    // Anna is full (3/3): Enter on the confirmation works too and goes over.
    press(&mut app, "a");
    let t = screen(&mut app, 80, 24);
    let anna_row = t.lines().position(|l| l.contains("Anna Petrova")).unwrap();
    let first_row = t.lines().position(|l| l.contains("Boris Ivanov")).unwrap();
    for _ in first_row..anna_row {
        press(&mut app, "j");
    }
    let id2 = app.selected_contact_id().unwrap();
    press(&mut app, "enter enter");
    assert_eq!(contact(&f, id2).operator.as_deref(), Some("Anna Petrova"));
    let anna = f
        .store()
        .operator(&EntityRef::parse("Anna Petrova"))
        .unwrap();
    assert_eq!((anna.load, anna.max_load), (4, 3));
}

#[test]
fn two_supervisors_assign_the_same_contact_one_wins_the_other_is_told() {
    let f = Fixture::new();
    let mut one = f.app();
    let mut two = f.app();
    press(&mut one, "4 w");
    press(&mut two, "4 w");
    let id = one.selected_contact_id().unwrap();
    assert_eq!(two.selected_contact_id(), Some(id));
    // Both open the picker on the same waiting contact.
    press(&mut one, "a");
    press(&mut two, "a");
    press(&mut one, "enter");
    assert_eq!(contact(&f, id).operator.as_deref(), Some("Boris Ivanov"));
    // Two picks Chen (second row) without having seen the change.
    press(&mut two, "j");
    assert_eq!(two.picker_operator(), Some("Chen Wei"));
    press(&mut two, "enter");
    let m = message(&two);
    assert!(
        m.contains(&format!(
            "#{id} was assigned to Boris Ivanov meanwhile: skipped"
        )),
        "{m}"
    );
    assert_eq!(
        contact(&f, id).operator.as_deref(),
        Some("Boris Ivanov"),
        "one won"
    );
    // Two's feed shows the truth at once: the row left the waiting list.
    assert!(!two.feed_ids().contains(&id));
}

#[test]
fn reassigning_an_active_contact_checks_who_holds_it() {
    let f = Fixture::new();
    let mut one = f.app();
    let mut two = f.app();
    // The newest contact is active (Boris, telegram).
    press(&mut one, "4");
    press(&mut two, "4");
    let id = one.selected_contact_id().unwrap();
    assert_eq!(contact(&f, id).operator.as_deref(), Some("Boris Ivanov"));
    press(&mut one, "a");
    press(&mut two, "a");
    // one moves it to the first eligible (Chen: weight 40 on telegram); moving a
    // held contact is a reassignment, and it asks first.
    assert_eq!(one.picker_operator(), Some("Chen Wei"));
    press(&mut one, "enter");
    assert!(one.has_dialog(), "a reassignment is confirmed first");
    assert_eq!(
        contact(&f, id).operator.as_deref(),
        Some("Boris Ivanov"),
        "nothing moved before the answer"
    );
    press(&mut one, "y");
    let holder = contact(&f, id).operator.unwrap();
    assert_eq!(holder, "Chen Wei");
    press(&mut two, "enter");
    assert!(two.has_dialog(), "a reassignment is confirmed first");
    press(&mut two, "y");
    assert!(
        message(&two).contains(&format!(
            "#{id} was reassigned to {holder} meanwhile: skipped"
        )),
        "{}",
        message(&two)
    );
    assert_eq!(contact(&f, id).operator.as_deref(), Some(holder.as_str()));
}

#[test]
fn close_reopen_and_marks() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4");
    let first = app.selected_contact_id().unwrap();
    press(&mut app, "c");
    assert_eq!(contact(&f, first).status, ContactStatus::Closed);
    press(&mut app, "c");
    assert!(
        message(&app).contains("already closed"),
        "{}",
        message(&app)
    );
    press(&mut app, "o");
    assert_eq!(contact(&f, first).status, ContactStatus::Active);
    // Mark three rows (space marks and moves down), then close them all.
    press(&mut app, "g space space space");
    let ids: Vec<i64> = app.feed_ids()[..3].to_vec();
    assert_eq!(
        app.selected_contact_id(),
        Some(app.feed_ids()[3]),
        "moved down"
    );
    let held: Vec<Option<String>> = ids.iter().map(|id| contact(&f, *id).operator).collect();
    assert!(screen(&mut app, 80, 24).contains("3 marked"));
    // Closing several asks first: Esc keeps them open, y closes them.
    press(&mut app, "c");
    assert!(screen(&mut app, 80, 24).contains("Close 3 marked contacts?"));
    press(&mut app, "esc");
    for id in &ids {
        assert_ne!(contact(&f, *id).status, ContactStatus::Closed, "#{id}");
    }
    press(&mut app, "c y");
    for id in &ids {
        assert_eq!(contact(&f, *id).status, ContactStatus::Closed, "#{id}");
    }
    assert!(!screen(&mut app, 80, 24).contains("marked"));
    // Marked rows can be reopened together; unmarking works.
    press(&mut app, "g space space space k space");
    press(&mut app, "o");
    // Back with its operator, or waiting if it never had one.
    let back = contact(&f, ids[0]);
    assert!(held[0].is_some(), "{held:?}");
    assert_eq!(
        (back.status, back.operator),
        (ContactStatus::Active, held[0].clone())
    );
    assert_eq!(held[1], None);
    assert_eq!(contact(&f, ids[1]).status, ContactStatus::Waiting);
    assert_eq!(
        contact(&f, ids[2]).status,
        ContactStatus::Closed,
        "unmarked"
    );
}

#[test]
fn marked_contacts_are_assigned_together() {
    let f = Fixture::new();
    let mut app = f.app();
    let waiting = waiting_ids(&f);
    press(&mut app, "4 w space space a");
    let t = screen(&mut app, 80, 24);
    assert!(t.contains("2 marked contacts"), "{t}");
    // Two contacts: Boris (1/2) has no room for both, Chen (2/4) has, so Chen is first.
    let chen = t.lines().position(|l| l.contains("Chen Wei")).unwrap();
    let boris = t.lines().position(|l| l.contains("Boris Ivanov")).unwrap();
    assert!(chen < boris, "{t}");
    press(&mut app, "enter");
    for id in &waiting[..2] {
        assert_eq!(contact(&f, *id).operator.as_deref(), Some("Chen Wei"));
    }
    assert!(
        message(&app).contains("2 contacts assigned to Chen Wei"),
        "{}",
        message(&app)
    );
}

#[test]
fn drain_key_routes_the_backlog_and_reports_it() {
    let f = Fixture::new();
    // The store drains on every change that frees capacity, so a backlog that routing
    // can take is rare; A is the supervisor's "try now". With Anna full it routes none.
    f.store()
        .set_weight(
            &EntityRef::parse("Anna Petrova"),
            &EntityRef::parse("phone"),
            1,
        )
        .unwrap();
    assert_eq!(waiting_ids(&f).len(), 3);
    let mut app = f.app();
    press(&mut app, "4 A");
    assert!(
        message(&app).contains("none of the 3 waiting contact(s) could be routed"),
        "{}",
        message(&app)
    );
    assert_eq!(waiting_ids(&f).len(), 3);
    assert!(screen(&mut app, 80, 24).contains("(3 waiting)"));
    // Room made behind the store's back (raw SQL, as an older build or a script
    // could): nothing drained it, so A does, and says how many.
    let raw = rusqlite::Connection::open(&f.path).unwrap();
    raw.execute(
        "UPDATE operator SET max_load = 4 WHERE name = 'Anna Petrova'",
        [],
    )
    .unwrap();
    drop(raw);
    assert_eq!(waiting_ids(&f).len(), 3);
    press(&mut app, "A");
    assert_eq!(
        message(&app),
        "backlog routed: 1 waiting contact(s) assigned"
    );
    assert_eq!(waiting_ids(&f).len(), 2);
    assert!(screen(&mut app, 80, 24).contains("(2 waiting)"));
    // Room made through the store drains at once; the tab title follows on the next
    // tick.
    set_max_load(&mut f.store(), EntityRef::parse("Anna Petrova"), 10);
    app.update(Action::Tick);
    assert_eq!(waiting_ids(&f).len(), 0);
    assert!(!screen(&mut app, 80, 24).contains("waiting)"));
}

#[test]
fn waiting_toggle_filter_picker_search_and_esc() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4 w");
    assert_eq!(app.feed_ids().len(), 3);
    press(&mut app, "w");
    assert_eq!(app.feed_ids().len(), 12);
    // f: source web-form (third), any operator, status closed.
    press(
        &mut app,
        "f right right right down down right right right enter",
    );
    let t = screen(&mut app, 120, 40);
    assert!(
        t.contains("source web-form") && t.contains("closed only"),
        "{t}"
    );
    assert_eq!(app.feed_ids().len(), 1);
    press(&mut app, "esc");
    assert_eq!(app.feed_ids().len(), 12);
    // / searches lead fields and messages, when Enter says the text is complete (a
    // search reads the file, so it does not run on every key).
    press(&mut app, "/");
    type_text(&mut app, "invoice");
    assert_eq!(app.feed_ids().len(), 12);
    assert!(screen(&mut app, 80, 24).contains("/invoice▏"));
    press(&mut app, "enter");
    assert_eq!(app.feed_ids().len(), 2);
    assert!(screen(&mut app, 80, 24).contains("· /invoice"));
    press(&mut app, "/");
    type_text(&mut app, "x");
    press(&mut app, "esc");
    assert_eq!(
        app.feed_ids().len(),
        12,
        "Esc while typing clears the search"
    );
    press(&mut app, "/");
    type_text(&mut app, "+7 900 111");
    press(&mut app, "enter");
    assert!(app.feed_ids().is_empty(), "phones are stored normalized");
    press(&mut app, "esc /");
    type_text(&mut app, "tg-1");
    press(&mut app, "enter");
    assert_eq!(app.feed_ids().len(), 2, "external ids match");
}

#[test]
fn lead_card_lists_every_contact_of_the_lead() {
    let f = Fixture::new();
    let mut app = f.app();
    // Ravi Khan came by web-form, then by phone with the same number.
    press(&mut app, "4 /");
    type_text(&mut app, "Calling about");
    press(&mut app, "enter enter");
    let t = screen(&mut app, 120, 40);
    assert!(t.contains("Lead #") && t.contains("Ravi Khan"), "{t}");
    assert!(t.contains("+79001112233"), "{t}");
    assert!(t.contains("web-form") && t.contains("phone"), "{t}");
    assert!(t.contains("2 contact(s)"), "{t}");
    press(&mut app, "esc");
    assert!(!app.has_dialog());
}

#[test]
fn audit_view_shows_changes_newest_first_and_filters() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "+ L");
    let t = screen(&mut app, 120, 40);
    let first = t.lines().find(|l| l.contains("operator.")).unwrap();
    assert!(first.contains("max_load: 3 -> 4"), "{t}");
    press(&mut app, "/");
    type_text(&mut app, "weight");
    press(&mut app, "enter");
    let t = screen(&mut app, 120, 40);
    assert!(
        t.contains("weight.set") && !t.contains("operator.update"),
        "{t}"
    );
    press(&mut app, "esc esc");
    assert!(!app.has_dialog());
}

#[test]
fn simulator_runs_in_the_background_and_s_cancels() {
    let f = Fixture::new();
    let before = f
        .store()
        .sources()
        .unwrap()
        .iter()
        .map(|s| s.total)
        .sum::<u32>();
    let mut app = f.app();
    // Source: web-form only (choices: all, phone, telegram-bot, web-form), 5 contacts
    // as fast as 500/s.
    press(
        &mut app,
        "4 s right right right tab backspace backspace backspace",
    );
    type_text(&mut app, "5");
    press(&mut app, "tab backspace");
    type_text(&mut app, "500");
    press(&mut app, "enter");
    assert!(app.simulating(), "{}", message(&app));
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.simulating() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        app.update(Action::Tick);
    }
    assert!(!app.simulating());
    assert!(
        message(&app).contains("5 contact(s) sent"),
        "{}",
        message(&app)
    );
    let sources = f.store().sources().unwrap();
    let total = sources.iter().map(|s| s.total).sum::<u32>();
    assert_eq!(total, before + 5);
    assert_eq!(
        sources.iter().find(|s| s.name == "web-form").unwrap().total,
        8
    );
    // A slow run is cancelled by s.
    press(&mut app, "s tab backspace backspace backspace");
    type_text(&mut app, "1000");
    press(&mut app, "tab backspace");
    type_text(&mut app, "2");
    press(&mut app, "enter");
    assert!(app.simulating());
    press(&mut app, "s");
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.simulating() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        app.update(Action::Tick);
    }
    assert!(!app.simulating());
    // "… N contact(s) sent in …s: … (cancelled)": the file holds those N and no more.
    let m = message(&app);
    assert!(m.ends_with("(cancelled)"), "{m}");
    let sent: u32 = m
        .split(" contact(s) sent")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {m:?}"));
    assert!(sent < 1000, "{m}");
    let after = f
        .store()
        .sources()
        .unwrap()
        .iter()
        .map(|s| s.total)
        .sum::<u32>();
    assert_eq!(after, before + 5 + sent);
}

#[test]
fn the_feed_pages_by_id_and_keeps_its_place_while_contacts_arrive() {
    let f = Fixture::new();
    let mut s = f.store();
    let batch: Vec<NewContact> = (0..100)
        .map(|i| NewContact {
            source: Some("phone".into()),
            external_id: Some(format!("bulk-{i}")),
            ..NewContact::default()
        })
        .collect();
    s.add_contacts(&batch).unwrap();
    let mut app = f.app();
    tui_support::resize(&mut app, 80, 24);
    press(&mut app, "4");
    let top = app.feed_ids();
    let page = top.len();
    assert!(page > 10);
    assert!(top.windows(2).all(|w| w[0] > w[1]), "newest first");
    // Following: a new contact appears at the top.
    s.add_contact(&NewContact {
        source: Some("phone".into()),
        external_id: Some("fresh-1".into()),
        ..NewContact::default()
    })
    .unwrap();
    app.update(Action::Tick);
    assert_eq!(app.feed_ids()[0], top[0] + 1);
    assert_eq!(app.feed_new_above(), 0);
    // Page down: the next page starts right after the last row.
    let shown = app.feed_ids();
    press(&mut app, "pagedown");
    let next = app.feed_ids();

    assert_eq!(next[0], shown.last().unwrap() - 1);
    // Scrolled: new contacts are counted, not shown.
    for i in 0..3 {
        s.add_contact(&NewContact {
            source: Some("phone".into()),
            external_id: Some(format!("late-{i}")),
            ..NewContact::default()
        })
        .unwrap();
    }
    app.update(Action::Tick);
    assert_eq!(app.feed_ids(), next, "kept its place");
    assert_eq!(app.feed_new_above(), 3);
    assert!(screen(&mut app, 80, 24).contains("3 new"));
    // j at the bottom of the page scrolls by one row.
    for _ in 0..=page {
        press(&mut app, "j");
        if app.feed_ids()[0] != next[0] {
            break;
        }
    }
    assert_eq!(app.feed_ids()[0], next[1]);
    assert_eq!(app.selected_contact_id(), app.feed_ids().last().copied());
    // G: the oldest page, on its last row; k at its top scrolls up by one.
    press(&mut app, "G");
    let oldest = app.feed_ids();
    assert_eq!(*oldest.last().unwrap(), 1);
    assert_eq!(app.selected_contact_id(), Some(1));
    for _ in 1..oldest.len() {
        press(&mut app, "k");
    }
    assert_eq!(app.feed_ids(), oldest, "moving inside the page keeps it");
    assert_eq!(app.selected_contact_id(), Some(oldest[0]));
    press(&mut app, "k");
    let shifted = app.feed_ids();
    assert_eq!(shifted[0], oldest[0] + 1);
    assert_eq!(shifted[1..], oldest[..oldest.len() - 1]);
    assert_eq!(app.selected_contact_id(), Some(oldest[0] + 1));
    // PageUp: the page above, which ends right before this one's top.
    press(&mut app, "pageup");
    assert_eq!(*app.feed_ids().last().unwrap(), shifted[0] + 1);
    // g: back to the top, following again.
    press(&mut app, "g");
    assert!(app.feed_following());
    assert_eq!(app.feed_new_above(), 0);
    assert_eq!(app.feed_ids()[0], top[0] + 4);
    assert_eq!(app.selected_contact_id(), Some(top[0] + 4));
}

#[test]
fn open_dialogs_survive_refreshes_and_the_picker_shows_fresh_loads() {
    let f = Fixture::new();
    let mut app = f.app();
    let mut other = f.store();
    press(&mut app, "4 w a");
    let t = screen(&mut app, 80, 24);
    assert!(picker_row(&t, "Boris Ivanov").contains(" 1/2 "), "{t}");
    assert!(picker_row(&t, "Chen Wei").contains(" 2/4 "), "{t}");
    // Another process gives Boris another waiting contact and raises Chen's max load:
    // the open picker follows.
    let selected = app.selected_contact_id().unwrap();
    let another = *waiting_ids(&f).iter().find(|id| **id != selected).unwrap();
    other
        .assign_contact(
            another,
            &EntityRef::parse("Boris Ivanov"),
            false,
            Expect::Waiting,
        )
        .unwrap();
    set_max_load(&mut other, EntityRef::parse("Chen Wei"), 9);
    app.update(Action::Tick);
    assert!(app.has_dialog(), "a refresh must not close the picker");
    let t = screen(&mut app, 80, 24);
    let boris = picker_row(&t, "Boris Ivanov");
    assert!(boris.contains(" 2/2 ") && boris.contains("full"), "{t}");
    assert!(picker_row(&t, "Chen Wei").contains(" 2/9 "), "{t}");
    // A half-typed form survives a refresh too.
    press(&mut app, "esc 1 a");
    type_text(&mut app, "Half");
    other.add_operator("Someone Else", 1, true).unwrap();
    app.update(Action::Tick);
    assert!(app.has_dialog());
    type_text(&mut app, " Typed");
    press(&mut app, "enter");
    assert!(f.store().operator(&EntityRef::parse("Half Typed")).is_ok());
}

#[test]
fn quitting_while_a_simulator_runs_asks_first() {
    let f = Fixture::new();
    let mut app = f.app();
    // A slow run: 1000 contacts at 1/s.
    press(&mut app, "4 s tab backspace backspace backspace");
    type_text(&mut app, "1000");
    press(&mut app, "tab backspace");
    type_text(&mut app, "1");
    press(&mut app, "enter");
    assert!(app.simulating(), "{}", message(&app));
    press(&mut app, "q");
    assert!(!app.should_quit(), "asked first");
    assert!(app.has_dialog());
    assert!(screen(&mut app, 80, 24).contains("Quit switchboard?"));
    press(&mut app, "esc");
    assert!(!app.should_quit() && !app.has_dialog());
    assert!(app.simulating(), "Esc keeps it running");
    press(&mut app, "q enter");
    assert!(app.should_quit());
}

#[test]
fn stopping_the_demo_simulator_asks_first() {
    let f = Fixture::new();
    let mut app = f.app_with(|o| o.demo = true);
    app.start_demo_simulator().unwrap();
    assert!(app.simulating());
    press(&mut app, "4 s");
    assert!(app.has_dialog(), "{}", message(&app));
    press(&mut app, "esc");
    assert!(app.simulating());
    press(&mut app, "s y");
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.simulating() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        app.update(Action::Tick);
    }
    assert!(!app.simulating(), "{}", message(&app));
    // With nothing running, q quits at once.
    press(&mut app, "q");
    assert!(app.should_quit());
}

#[test]
fn mark_all_in_view_and_clear_marks() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4 *");
    let shown = app.feed_ids().len();
    assert!(shown > 1);
    assert!(
        message(&app).contains(&format!("{shown} marked; {shown} in all")),
        "{}",
        message(&app)
    );
    assert!(screen(&mut app, 80, 24).contains(&format!("{shown} marked")));
    press(&mut app, "u");
    assert!(message(&app).contains(&format!("{shown} mark(s) cleared")));
    press(&mut app, "u");
    assert!(message(&app).contains("no marks to clear"));
}

#[test]
fn the_waiting_list_turns_oldest_first_and_pages_the_same_way() {
    let f = Fixture::new();
    let mut s = f.store();
    // A backlog of more than a page: phone has no weights, so these wait.
    let batch: Vec<NewContact> = (0..40)
        .map(|i| NewContact {
            source: Some("phone".into()),
            external_id: Some(format!("wait-{i}")),
            ..NewContact::default()
        })
        .collect();
    s.add_contacts(&batch).unwrap();
    let mut waiting = waiting_ids(&f);
    waiting.reverse();
    let mut app = f.app();
    tui_support::resize(&mut app, 80, 24);
    press(&mut app, "4 w");
    assert!(screen(&mut app, 80, 24).contains("r: oldest first"));
    let newest = app.feed_ids();
    assert_eq!(newest[0], *waiting.last().unwrap());
    // r: the longest waiting on top, and selected.
    press(&mut app, "r");
    assert_eq!(message(&app), "oldest first: the longest waiting on top");
    let top = app.feed_ids();
    let page = top.len();
    assert!(page > 10 && page < waiting.len());
    assert_eq!(top, waiting[..page], "oldest first, from the oldest");
    assert_eq!(app.selected_contact_id(), Some(top[0]));
    let t = screen(&mut app, 80, 24);
    assert!(
        t.contains("oldest first") && t.contains("r: newest first"),
        "{t}"
    );
    // New contacts arrive at the bottom, out of view: nothing moves, nothing counted.
    let add = |s: &mut switchboard::store::Store, ext: &str| {
        s.add_contact(&NewContact {
            source: Some("phone".into()),
            external_id: Some(ext.into()),
            ..NewContact::default()
        })
        .unwrap()
        .contact
        .id
    };
    let late = add(&mut s, "late-1");
    app.update(Action::Tick);
    assert_eq!(app.feed_ids(), top);
    assert_eq!(app.selected_contact_id(), Some(top[0]));
    assert_eq!(app.feed_new_above(), 0);
    // At the top, the oldest leaving the list (closed elsewhere) brings up the next.
    s.close_contact(top[0]).unwrap();
    app.update(Action::Tick);
    assert_eq!(app.feed_ids()[0], top[1]);
    assert_eq!(app.selected_contact_id(), Some(top[1]));
    let t = screen(&mut app, 80, 24);
    assert!(
        !t.lines().any(|l| l.starts_with('+')),
        "a row scrolling into view is not new: {t}"
    );
    // j pauses on the row below; arrivals and departures above keep it in place.
    press(&mut app, "j j");
    let picked = top[3];
    assert_eq!(app.selected_contact_id(), Some(picked));
    assert!(screen(&mut app, 80, 24).contains("paused (g: top)"));
    add(&mut s, "late-2");
    app.update(Action::Tick);
    assert_eq!(app.selected_contact_id(), Some(picked));
    assert_eq!(app.feed_ids()[0], top[1], "kept its place");
    // Page down: the next page starts right after the last row, still ascending.
    let shown = app.feed_ids();
    press(&mut app, "pagedown");
    let next = app.feed_ids();
    let after_last = waiting.iter().position(|id| id == shown.last().unwrap());
    assert_eq!(next[0], waiting[after_last.unwrap() + 1]);
    assert!(next.windows(2).all(|w| w[0] < w[1]));
    // k at the top of a page scrolls up by one; pageup goes back a page.
    press(&mut app, "g pagedown");
    let second = app.feed_ids();
    for _ in 0..=page {
        press(&mut app, "k");
        if app.feed_ids()[0] != second[0] {
            break;
        }
    }
    assert!(app.feed_ids()[0] < second[0]);
    // G: the last page ends with the newest waiting contact.
    press(&mut app, "G");
    assert!(*app.feed_ids().last().unwrap() > late);
    assert_eq!(app.selected_contact_id(), app.feed_ids().last().copied());
    press(&mut app, "pageup");
    assert!(app.feed_ids().windows(2).all(|w| w[0] < w[1]));
    // r on a paused page keeps the selected contact in view and selected.
    press(&mut app, "g j j");
    let picked = app.selected_contact_id().unwrap();
    press(&mut app, "r");
    assert_eq!(message(&app), "newest first");
    assert_eq!(app.selected_contact_id(), Some(picked));
    assert_eq!(app.feed_ids()[0], picked);
    assert!(app.feed_ids().windows(2).all(|w| w[0] > w[1]));
    // g: newest first, following, as before.
    press(&mut app, "g");
    assert_eq!(app.feed_ids()[0], waiting_ids(&f)[0]);
}

#[test]
fn oldest_first_shows_new_waiting_contacts_at_the_bottom_highlighted() {
    let f = Fixture::new();
    let mut s = f.store();
    let mut app = f.app();
    press(&mut app, "4 w r");
    let before = app.feed_ids();
    assert_eq!(before.len(), 3);
    assert!(before.windows(2).all(|w| w[0] < w[1]));
    let id = s
        .add_contact(&NewContact {
            source: Some("phone".into()),
            name: Some("Newcomer".into()),
            email: Some("newcomer@example.com".into()),
            message: Some("Just arrived".into()),
            ..NewContact::default()
        })
        .unwrap()
        .contact
        .id;
    app.update(Action::Tick);
    assert_eq!(*app.feed_ids().last().unwrap(), id);
    assert_eq!(app.selected_contact_id(), Some(before[0]), "no jump");
    let t = screen(&mut app, 80, 24);
    let row = t.lines().find(|l| l.contains("Newcomer")).unwrap();
    assert!(row.starts_with('+'), "highlighted as new: {t}");
    // Paused too, a newcomer shows at the bottom, highlighted; the selection stays.
    press(&mut app, "j");
    s.add_contact(&NewContact {
        source: Some("phone".into()),
        name: Some("Latecomer".into()),
        email: Some("latecomer@example.com".into()),
        ..NewContact::default()
    })
    .unwrap();
    app.update(Action::Tick);
    assert_eq!(app.selected_contact_id(), Some(before[1]));
    let t = screen(&mut app, 80, 24);
    let rows: Vec<&str> = t.lines().filter(|l| l.contains(" phone ")).collect();
    assert!(
        rows.len() == 5 && rows[4].starts_with('+') && rows[4].contains("Latecomer"),
        "{t}"
    );
    // The order stays while the waiting filter goes: every contact, oldest first.
    press(&mut app, "g w");
    let all = app.feed_ids();
    assert_eq!(all[0], 1);
    assert!(screen(&mut app, 80, 24).contains("r: newest first"));
}
