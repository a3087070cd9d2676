//! Issue 3 by keyboard: key sequences fed to the App, then the store is asked what it
//! holds. Also the keymap file, read-only mode, filters, and live updates from another
//! connection with the selection kept on the same item.

mod tui_support;

use switchboard::domain::{EntityRef, Strategy};
use switchboard::store::FeedFilter;
use switchboard::tui::action::Action;
use switchboard::tui::{Keymap, Tab, keymap::DEFAULT_KEYMAP};
use tui_support::{Fixture, message, press, screen, set_max_load, type_text};

fn operator(f: &Fixture, name: &str) -> Option<switchboard::store::Operator> {
    f.store()
        .operators()
        .unwrap()
        .into_iter()
        .find(|o| o.name == name)
}

#[test]
fn add_an_operator_with_a_form() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "a");
    type_text(&mut app, "Zoe Quinn");
    press(&mut app, "tab backspace");
    type_text(&mut app, "7");
    press(&mut app, "enter");
    assert!(!app.has_dialog(), "{}", message(&app));
    let zoe = operator(&f, "Zoe Quinn").expect("added");
    assert_eq!((zoe.max_load, zoe.active), (7, true));
    assert_eq!(
        app.selected_operator_id(),
        Some(zoe.id),
        "the new one is selected"
    );
    assert!(message(&app).contains("added"));
}

#[test]
fn a_refused_form_stays_open_with_the_reason() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "a");
    type_text(&mut app, "Anna Petrova");
    press(&mut app, "enter");
    assert!(app.has_dialog());
    assert!(
        message(&app).contains("already exists"),
        "{}",
        message(&app)
    );
    press(&mut app, "esc");
    assert!(!app.has_dialog());
    assert_eq!(f.store().operators().unwrap().len(), 4);
}

#[test]
fn edit_toggle_and_adjust_an_operator() {
    let f = Fixture::new();
    let mut app = f.app();
    // Boris: rename and max load 2 -> 6.
    press(&mut app, "j e");
    for _ in 0.."Boris Ivanov".len() {
        press(&mut app, "backspace");
    }
    type_text(&mut app, "Boris I.");
    press(&mut app, "tab backspace");
    type_text(&mut app, "6");
    press(&mut app, "enter");
    let b = operator(&f, "Boris I.").expect("renamed");
    assert_eq!(b.max_load, 6);
    // space toggles active, + and - move max load by one.
    press(&mut app, "space");
    assert!(!operator(&f, "Boris I.").unwrap().active);
    press(&mut app, "space + + -");
    let b = operator(&f, "Boris I.").unwrap();
    assert!(b.active);
    assert_eq!(b.max_load, 7);
    assert_eq!(app.selected_operator_id(), Some(b.id));
}

#[test]
fn deleting_asks_first_and_is_refused_while_contacts_are_open() {
    let f = Fixture::new();
    f.store().add_operator("Idle Ivan", 1, true).unwrap();
    let mut app = f.app();
    // Anna holds open contacts.
    press(&mut app, "d");
    assert!(!app.has_dialog());
    assert!(message(&app).contains("deactivate"), "{}", message(&app));
    assert!(operator(&f, "Anna Petrova").is_some());
    // Idle Ivan (last row): Esc cancels, y deletes.
    press(&mut app, "G d");
    assert!(app.has_dialog());
    press(&mut app, "esc");
    assert!(operator(&f, "Idle Ivan").is_some());
    press(&mut app, "d y");
    assert!(operator(&f, "Idle Ivan").is_none());
    assert!(message(&app).contains("deleted"));
    // Enter confirms too.
    f.store().add_operator("Idle Ivan", 1, true).unwrap();
    app.update(Action::Tick);
    press(&mut app, "G d enter");
    assert!(operator(&f, "Idle Ivan").is_none());
}

#[test]
fn operator_detail_pane_opens_and_closes() {
    let f = Fixture::new();
    let mut app = f.app();
    let mut t = tui_support::screen(&mut app, 80, 24);
    assert!(!t.contains("Weights by source"));
    press(&mut app, "enter");
    t = tui_support::screen(&mut app, 80, 24);
    assert!(
        t.contains("Weights by source") && t.contains("Open contacts (3)"),
        "{t}"
    );
    press(&mut app, "esc");
    t = tui_support::screen(&mut app, 80, 24);
    assert!(!t.contains("Weights by source"));
}

#[test]
fn sources_add_edit_cycle_and_delete() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "2 a");
    type_text(&mut app, "whatsapp");
    press(&mut app, "tab");
    type_text(&mut app, "WhatsApp Business");
    press(&mut app, "tab right enter");
    let s = f.store().source(&EntityRef::parse("whatsapp")).unwrap();
    assert_eq!(s.description, "WhatsApp Business");
    assert_eq!(s.strategy, Strategy::Capacity);
    assert_eq!(app.selected_source_id(), Some(s.id));
    // t cycles the strategy of the selected source.
    press(&mut app, "t");
    assert_eq!(
        f.store().source(&EntityRef::Id(s.id)).unwrap().strategy,
        Strategy::Weighted
    );
    // e edits the description.
    press(&mut app, "e tab");
    type_text(&mut app, " channel");
    press(&mut app, "enter");
    assert_eq!(
        f.store().source(&EntityRef::Id(s.id)).unwrap().description,
        "WhatsApp Business channel"
    );
    // It has no contacts: d, y deletes it.
    press(&mut app, "d y");
    assert!(f.store().source(&EntityRef::Id(s.id)).is_err());
    // phone (first row) has contacts: refused.
    press(&mut app, "g d");
    assert!(!app.has_dialog());
    assert!(
        message(&app).contains("cannot be deleted"),
        "{}",
        message(&app)
    );
    assert!(f.store().source(&EntityRef::parse("phone")).is_ok());
}

fn weight(f: &Fixture, op: &str, src: &str) -> u32 {
    f.store()
        .weights()
        .unwrap()
        .into_iter()
        .find(|w| w.operator == op && w.source == src)
        .map_or(0, |w| w.weight)
}

#[test]
fn weights_by_digits_plus_minus_and_clear() {
    let f = Fixture::new();
    let mut app = f.app();
    // Columns: phone, telegram-bot, web-form. Rows: Anna, Boris, Chen, Hugo.
    press(&mut app, "3");
    assert_eq!(app.tab(), Tab::Weights);
    // Anna x phone = 25: Enter edits the cell, digits, Enter sets.
    press(&mut app, "enter 2 5 enter");
    assert_eq!(weight(&f, "Anna Petrova", "phone"), 25);
    // Boris x telegram-bot (20): + + -
    press(&mut app, "j l + + -");
    assert_eq!(weight(&f, "Boris Ivanov", "telegram-bot"), 21);
    // x clears it; 0 Enter clears another.
    press(&mut app, "x");
    assert_eq!(weight(&f, "Boris Ivanov", "telegram-bot"), 0);
    press(&mut app, "j e 0 enter");
    assert_eq!(weight(&f, "Chen Wei", "telegram-bot"), 0);
    // Backspace edits the typed digits; Esc drops them.
    press(&mut app, "l enter 9 9 backspace enter");
    assert_eq!(weight(&f, "Chen Wei", "web-form"), 9);
    press(&mut app, "enter 5 esc enter");
    assert_eq!(weight(&f, "Chen Wei", "web-form"), 9);
    // h/k and arrows move too (the second Enter above opened an edit: Esc ends it).
    press(&mut app, "esc h h k up enter 7 enter");
    assert_eq!(weight(&f, "Anna Petrova", "phone"), 7);
    // A weight for phone routes its waiting contacts to whoever has room: Anna has
    // none (3/3), so all three keep waiting; Boris (1/2) takes one.
    assert_eq!(f.store().waiting_count().unwrap(), 3, "Anna is full");
    press(&mut app, "j enter 1 enter");
    assert_eq!(weight(&f, "Boris Ivanov", "phone"), 1);
    assert_eq!(
        f.store().waiting_count().unwrap(),
        2,
        "one of the backlog drained to Boris"
    );
    assert_eq!(operator(&f, "Boris Ivanov").unwrap().load, 2);
}

#[test]
fn a_weight_cell_is_edited_after_enter_and_typed_digits_are_never_dropped_unseen() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "3");
    // Anna x phone: Enter opens the cell; it shows the digits with a cursor and the
    // footer says how to finish.
    press(&mut app, "enter");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("[▏]") && t.contains("editing"), "{t}");
    press(&mut app, "1 2");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(
        t.contains("[12▏]") && t.contains("Enter set") && t.contains("Esc cancel"),
        "{t}"
    );
    // A key that would leave the cell, switch tab or quit is refused and says what
    // to do with the digits; nothing is written meanwhile.
    for k in [
        "j", "down", "l", "tab", "backtab", "g", "q", "+", "x", "/", "?",
    ] {
        press(&mut app, k);
        assert_eq!(message(&app), "Enter sets 12, Esc drops it", "after {k}");
        assert_eq!(app.tab(), Tab::Weights);
        assert!(!app.should_quit() && !app.has_dialog());
    }
    assert_eq!(weight(&f, "Anna Petrova", "phone"), 0);
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("[12▏]"), "still typed: {t}");
    press(&mut app, "enter");
    assert_eq!(weight(&f, "Anna Petrova", "phone"), 12);
    assert!(message(&app).contains("0 -> 12"), "{}", message(&app));
    // e edits too; Esc drops what was typed and says so.
    press(&mut app, "e 9 esc");
    assert!(
        message(&app).contains("typed 9 dropped"),
        "{}",
        message(&app)
    );
    assert_eq!(weight(&f, "Anna Petrova", "phone"), 12);
    // Esc with nothing typed cancels too, with a message.
    press(&mut app, "enter esc");
    assert!(message(&app).contains("cancelled"), "{}", message(&app));
    // With nothing typed, any other key ends the edit and does what it does: j moves
    // to Boris, + raises his weight, 1 switches to the first tab.
    press(&mut app, "enter j +");
    assert_eq!(weight(&f, "Boris Ivanov", "phone"), 1);
    press(&mut app, "1");
    assert_eq!(app.tab(), Tab::Operators);
    press(&mut app, "3");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(!t.contains('▏') && !t.contains("editing"), "{t}");
    // Enter with nothing typed keeps the cell open and says what it wants.
    press(&mut app, "enter enter");
    assert!(message(&app).contains("type a weight"), "{}", message(&app));
    press(&mut app, "esc");
    // The write carries the weight the cell showed: changed by someone else
    // meanwhile, nothing is saved and the message says so.
    press(&mut app, "enter 5");
    f.store()
        .set_weight(
            &EntityRef::parse("Boris Ivanov"),
            &EntityRef::parse("phone"),
            7,
        )
        .unwrap();
    app.update(Action::Tick);
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("[5▏]"), "the edit survives a refresh: {t}");
    press(&mut app, "enter");
    assert_eq!(weight(&f, "Boris Ivanov", "phone"), 7);
    assert!(
        message(&app).contains("changed meanwhile"),
        "{}",
        message(&app)
    );
}

#[test]
fn the_weights_grid_refits_after_a_resize() {
    let f = Fixture::new();
    {
        let mut s = f.store();
        for j in 0..9 {
            s.add_source(&format!("src-{j}"), "", Strategy::Weighted)
                .unwrap();
        }
    }
    let mut app = f.app();
    // Twelve sources (phone, src-0..src-8, telegram-bot, web-form); at 80 columns
    // four fit. The last one selected.
    press(&mut app, "3 G");
    for _ in 0..11 {
        press(&mut app, "l");
    }
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("src-8") && !t.contains("phone"), "{t}");
    // Wider: every column fits, so the grid scrolls back to the first.
    let t = tui_support::screen(&mut app, 200, 40);
    assert!(
        t.contains("phone") && t.contains("src-8") && !t.contains('◀'),
        "{t}"
    );
    // Narrow again: the selected column stays in view.
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(
        t.contains("src-8") && t.contains("row 4/4 · column 12/12"),
        "{t}"
    );
    // In the middle: still in view after a resize either way.
    for _ in 0..6 {
        press(&mut app, "h");
    }
    for (w, h) in [(120, 40), (70, 20), (200, 50), (80, 24)] {
        let t = tui_support::screen(&mut app, w, h);
        assert!(t.contains("src-4"), "{w}x{h}: {t}");
    }
    assert!(tui_support::screen(&mut app, 80, 24).contains("column 6/12"));
}

#[test]
fn tabs_switch_by_number_everywhere_and_by_tab() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "2");
    assert_eq!(app.tab(), Tab::Sources);
    press(&mut app, "tab");
    assert_eq!(app.tab(), Tab::Weights);
    press(&mut app, "1");
    assert_eq!(
        app.tab(),
        Tab::Operators,
        "digits switch tabs on Weights too"
    );
    press(&mut app, "3 4");
    assert_eq!(app.tab(), Tab::Feed);
    press(&mut app, "3 tab");
    assert_eq!(app.tab(), Tab::Feed);
    press(&mut app, "backtab backtab");
    assert_eq!(app.tab(), Tab::Sources);
    press(&mut app, "4");
    assert_eq!(app.tab(), Tab::Feed);
    press(&mut app, "1");
    assert_eq!(app.tab(), Tab::Operators);
}

/// The rows of the table on screen, by their first word.
fn order<'a>(t: &str, names: &[&'a str]) -> Vec<&'a str> {
    t.lines()
        .filter_map(|l| names.iter().find(|n| l.starts_with(**n)).copied())
        .collect()
}

#[test]
fn operators_sort_by_any_column_keeping_the_selection() {
    let f = Fixture::new();
    let mut app = f.app();
    let ops = ["Anna", "Boris", "Chen", "Hugo"];
    let chen = operator(&f, "Chen Wei").unwrap().id;
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Name ▲"), "{t}");
    assert_eq!(order(&t, &ops), ops, "by name, as the file has them");
    press(&mut app, "j j");
    assert_eq!(app.selected_operator_id(), Some(chen));
    // o: active first (ties keep the name order), then load, highest first.
    press(&mut app, "o");
    assert_eq!(message(&app), "sorted by active ▼ (r reverses)");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Active ▼"), "{t}");
    assert_eq!(order(&t, &ops), ["Anna", "Boris", "Chen", "Hugo"]);
    press(&mut app, "o");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Load ▼"), "{t}");
    assert_eq!(order(&t, &ops), ["Anna", "Chen", "Boris", "Hugo"]);
    assert_eq!(app.selected_operator_id(), Some(chen), "same operator");
    // Keys act on the selected operator wherever it moved: Chen's max load 4 -> 5.
    press(&mut app, "+");
    assert_eq!(operator(&f, "Chen Wei").unwrap().max_load, 5);
    // r reverses.
    press(&mut app, "r");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Load ▲"), "{t}");
    assert_eq!(order(&t, &ops), ["Boris", "Hugo", "Chen", "Anna"]);
    // Max load sorts the Load column; a change from elsewhere re-sorts on the next
    // tick, the selection still on Chen.
    press(&mut app, "o");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Max load ▼"), "{t}");
    assert_eq!(order(&t, &ops), ["Chen", "Anna", "Boris", "Hugo"]);
    set_max_load(&mut f.store(), EntityRef::parse("Hugo Lefebvre"), 9);
    app.update(Action::Tick);
    let t = tui_support::screen(&mut app, 80, 24);
    assert_eq!(order(&t, &ops), ["Hugo", "Chen", "Anna", "Boris"]);
    assert_eq!(app.selected_operator_id(), Some(chen));
    // Sources, today, then back to name.
    press(&mut app, "o");
    assert!(tui_support::screen(&mut app, 80, 24).contains("Sources ▼"));
    press(&mut app, "o");
    assert!(tui_support::screen(&mut app, 80, 24).contains("Today ▼"));
    press(&mut app, "o");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Name ▲"), "{t}");
    assert_eq!(order(&t, &ops), ops);
    // The filter and the sort work together.
    press(&mut app, "o o /");
    type_text(&mut app, "n");
    press(&mut app, "enter");
    let t = tui_support::screen(&mut app, 80, 24);
    assert_eq!(order(&t, &ops), ["Anna", "Chen", "Boris"]);
}

#[test]
fn sources_sort_by_any_column_keeping_the_selection() {
    let f = Fixture::new();
    let mut app = f.app();
    let srcs = ["phone", "telegram-bot", "web-form"];
    let telegram = f
        .store()
        .source(&EntityRef::parse("telegram-bot"))
        .unwrap()
        .id;
    press(&mut app, "2 j");
    assert_eq!(app.selected_source_id(), Some(telegram));
    let t = tui_support::screen(&mut app, 80, 24);
    assert_eq!(order(&t, &srcs), srcs);
    // Strategy (capacity before weighted), then waiting, most first.
    press(&mut app, "o");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Strategy ▲"), "{t}");
    assert_eq!(order(&t, &srcs), ["web-form", "phone", "telegram-bot"]);
    press(&mut app, "o");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Waiting ▼"), "{t}");
    assert_eq!(order(&t, &srcs), srcs);
    // Total, most first; r: fewest first. The selection stays on telegram-bot.
    press(&mut app, "o o");
    assert_eq!(message(&app), "sorted by total ▼ (r reverses)");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Total ▼"), "{t}");
    assert_eq!(order(&t, &srcs), ["telegram-bot", "phone", "web-form"]);
    press(&mut app, "r");
    let t = tui_support::screen(&mut app, 80, 24);
    assert_eq!(order(&t, &srcs), ["phone", "web-form", "telegram-bot"]);
    assert_eq!(app.selected_source_id(), Some(telegram));
    // Keys act on it: t cycles its strategy.
    press(&mut app, "t");
    assert_eq!(
        f.store()
            .source(&EntityRef::parse("telegram-bot"))
            .unwrap()
            .strategy,
        Strategy::Capacity
    );
    press(&mut app, "o");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Name ▲"), "{t}");
    assert_eq!(order(&t, &srcs), srcs);
}

#[test]
fn slash_filters_the_table_and_esc_clears() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "/");
    type_text(&mut app, "chen");
    press(&mut app, "enter");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Chen Wei") && !t.contains("Anna Petrova"), "{t}");
    // Actions apply to the filtered row.
    press(&mut app, "+");
    assert_eq!(operator(&f, "Chen Wei").unwrap().max_load, 5);
    press(&mut app, "esc");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Chen Wei") && t.contains("Anna Petrova"), "{t}");
}

#[test]
fn read_only_changes_nothing() {
    let f = Fixture::new();
    // Everything a key could change: the roster, the contacts and the audit log.
    let everything = || {
        let mut s = f.store();
        (
            s.operators().unwrap(),
            s.sources().unwrap(),
            s.weights().unwrap(),
            s.contacts(&FeedFilter::default(), None, 10_000).unwrap(),
            s.audit_log(None, None, 10_000).unwrap(),
        )
    };
    let before = everything();
    assert!(
        !before.3.is_empty() && !before.4.is_empty(),
        "a fixture with history"
    );
    let mut app = f.app_with(|o| o.read_only = true);
    press(&mut app, "a");
    assert!(!app.has_dialog());
    press(&mut app, "space + - d e");
    press(&mut app, "2 a t d e");
    press(&mut app, "3 5 enter + - x 2");
    assert_eq!(
        app.tab(),
        Tab::Sources,
        "digits switch tabs when nothing can be typed"
    );
    press(&mut app, "3 + 4 w a c o A s");
    assert!(!app.simulating());
    assert!(message(&app).contains("read-only"));
    // Marked contacts and the bulk keys change nothing either.
    press(&mut app, "4 * c y o A u");
    assert_eq!(before, everything());
}

#[test]
fn quit_keys() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "q");
    assert!(app.should_quit());
    let mut app = f.app();
    press(&mut app, "a ctrl-c");
    assert!(app.should_quit(), "ctrl-c quits even from a form");
    let mut app = f.app();
    press(&mut app, "a q");
    assert!(!app.should_quit(), "q is typed into a form");
}

#[test]
fn help_overlay_lists_the_bindings_in_use() {
    let f = Fixture::new();
    let keymap = Keymap::from_texts(
        DEFAULT_KEYMAP,
        Some(("[operators]\nadd = [\"n\"]\n", "test")),
    )
    .unwrap();
    let mut app = f.app_with(|o| o.keymap = keymap);
    press(&mut app, "?");
    let t = tui_support::screen(&mut app, 120, 40);
    assert!(t.contains("add an operator"), "{t}");
    assert!(
        t.lines()
            .any(|l| l.contains(" n ") && l.contains("add an operator")),
        "{t}"
    );
    press(&mut app, "esc");
    // The footer follows the same table.
    let t = tui_support::screen(&mut app, 120, 40);
    assert!(t.contains("n add"), "{t}");
    // And so does the key itself.
    press(&mut app, "a");
    assert!(!app.has_dialog());
    press(&mut app, "n");
    assert!(app.has_dialog());
}

#[test]
fn another_process_changes_show_on_the_next_tick_with_the_selection_kept() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "j j");
    let chen = operator(&f, "Chen Wei").unwrap().id;
    assert_eq!(app.selected_operator_id(), Some(chen));
    // Someone adds an operator that sorts first, and changes Chen.
    let mut other = f.store();
    other.add_operator("Aaron Abbott", 2, true).unwrap();
    set_max_load(&mut other, EntityRef::Id(chen), 9);
    app.update(Action::Tick);
    assert_eq!(
        app.selected_operator_id(),
        Some(chen),
        "still on Chen, not row 2"
    );
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Aaron Abbott") && t.contains("2/9"), "{t}");
    // And the selected row is the one acted upon.
    press(&mut app, "+");
    assert_eq!(operator(&f, "Chen Wei").unwrap().max_load, 10);
    // A row deleted above the selection: still on Chen.
    other
        .delete_operator(&EntityRef::parse("Aaron Abbott"))
        .unwrap();
    app.update(Action::Tick);
    assert_eq!(app.selected_operator_id(), Some(chen));
    // A deleted selection falls back to the row in its place: Dmitri (between Chen
    // and Hugo) goes, Hugo moves up into his row.
    other.add_operator("Dmitri Idle", 1, true).unwrap();
    app.update(Action::Tick);
    press(&mut app, "j");
    let dmitri = operator(&f, "Dmitri Idle").unwrap().id;
    assert_eq!(app.selected_operator_id(), Some(dmitri));
    other
        .delete_operator(&EntityRef::parse("Dmitri Idle"))
        .unwrap();
    app.update(Action::Tick);
    let hugo = operator(&f, "Hugo Lefebvre").unwrap().id;
    assert_eq!(app.selected_operator_id(), Some(hugo));
    // The last row deleted: the row above it, now the last.
    other.add_operator("Zoe Idle", 1, true).unwrap();
    app.update(Action::Tick);
    press(&mut app, "G");
    assert_eq!(
        app.selected_operator_id(),
        Some(operator(&f, "Zoe Idle").unwrap().id)
    );
    other
        .delete_operator(&EntityRef::parse("Zoe Idle"))
        .unwrap();
    app.update(Action::Tick);
    assert_eq!(app.selected_operator_id(), Some(hugo));
}

#[test]
fn two_apps_on_one_file_see_each_others_edits() {
    let f = Fixture::new();
    let mut one = f.app();
    let mut two = f.app();
    press(&mut one, "j space");
    two.update(Action::Tick);
    let t = tui_support::screen(&mut two, 80, 24);
    let boris = t
        .lines()
        .find(|l| l.starts_with("Boris"))
        .unwrap()
        .to_string();
    assert!(boris.contains(" no "), "{boris}");
    press(&mut two, "3 l l enter 4 2 enter");
    one.update(Action::Tick);
    press(&mut one, "3");
    let t = tui_support::screen(&mut one, 80, 24);
    assert!(t.contains("42"), "{t}");
}

#[test]
fn activating_an_operator_says_how_many_waiting_contacts_it_routed() {
    let f = Fixture::new();
    {
        let mut s = f.store();
        s.add_operator("Zed Last", 5, false).unwrap();
        s.add_source("solo", "", Strategy::Weighted).unwrap();
        s.set_weight(&EntityRef::parse("Zed Last"), &EntityRef::parse("solo"), 1)
            .unwrap();
        for i in 0..3 {
            s.add_contact(&switchboard::store::NewContact {
                source: Some(EntityRef::parse("solo")),
                email: Some(format!("w{i}@example.com")),
                ..Default::default()
            })
            .unwrap();
        }
    }
    let mut app = f.app();
    press(&mut app, "G space");
    let m = message(&app);
    assert!(
        m.contains("'Zed Last' is now active; 3 waiting contacts routed"),
        "{m}"
    );
    assert_eq!(operator(&f, "Zed Last").unwrap().load, 3);
    // Deactivating routes nothing and says nothing of it.
    press(&mut app, "space");
    assert!(
        message(&app).ends_with("is now inactive"),
        "{}",
        message(&app)
    );
}

#[test]
fn the_audit_view_filters_by_contact_id_and_says_when_nothing_matches() {
    let f = Fixture::new();
    let mut app = f.app();
    press(&mut app, "4 c");
    let closed = f
        .store()
        .audit_log(None, None, 1)
        .unwrap()
        .remove(0)
        .entity_id
        .unwrap();
    press(&mut app, "L /");
    type_text(&mut app, &format!("#{closed}"));
    press(&mut app, "enter");
    let t = tui_support::screen(&mut app, 120, 40);
    assert!(t.contains(&format!("contact.close #{closed}")), "{t}");
    assert!(
        !t.contains("operator.create"),
        "only the contact's entries: {t}"
    );
    press(&mut app, "esc /");
    type_text(&mut app, "no-such-thing");
    press(&mut app, "enter");
    let t = tui_support::screen(&mut app, 120, 40);
    assert!(
        t.contains("no entry matches 'no-such-thing' (Esc clears the filter)"),
        "{t}"
    );
}

#[test]
fn the_operator_detail_says_how_many_open_contacts_do_not_fit() {
    let f = Fixture::new();
    {
        let mut s = f.store();
        s.add_operator("Aaron Many", 50, true).unwrap();
        s.add_source("busy", "", Strategy::Weighted).unwrap();
        s.set_weight(
            &EntityRef::parse("Aaron Many"),
            &EntityRef::parse("busy"),
            1,
        )
        .unwrap();
        for i in 0..40 {
            s.add_contact(&switchboard::store::NewContact {
                source: Some(EntityRef::parse("busy")),
                email: Some(format!("m{i}@example.com")),
                ..Default::default()
            })
            .unwrap();
        }
    }
    let mut app = f.app();
    // Sorted by name: Aaron first.
    press(&mut app, "g enter");
    let t = tui_support::screen(&mut app, 80, 24);
    assert!(t.contains("Open contacts (40)"), "{t}");
    let listed = t
        .lines()
        .filter(|l| l.contains("m") && l.contains("@example.com"))
        .count();
    assert!(listed > 0, "{t}");
    assert!(
        t.contains(&format!("… and {} more", 40 - listed)),
        "{listed} listed:\n{t}"
    );
    // A taller screen lists more and says fewer are left.
    let tall = tui_support::screen(&mut app, 120, 40);
    let listed_tall = tall.lines().filter(|l| l.contains("@example.com")).count();
    assert!(listed_tall > listed, "{tall}");
}

/// A name longer than its column is cut with "…", in the Operators and the Sources
/// tables, at 80 columns and at 120.
#[test]
fn long_names_are_cut_with_an_ellipsis() {
    let f = Fixture::new();
    let long = "Maximiliana Theodora Wolkenstein-Rodenegg von Trostburg";
    let source = "customer-support-telegram-bot-east";
    {
        let mut s = f.store();
        s.add_operator(long, 3, true).unwrap();
        s.add_source(source, "", Strategy::Weighted).unwrap();
    }
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = f.app();
        let ops = screen(&mut app, w, h);
        assert!(!ops.contains(long), "{ops}");
        assert!(ops.contains("Maximiliana Theodora"), "{ops}");
        assert!(
            ops.lines()
                .any(|l| l.starts_with("Maximiliana") && l.contains('…')),
            "{ops}"
        );
        press(&mut app, "2");
        let src = screen(&mut app, w, h);
        // The table cuts it; the chart's title, with room, names it whole.
        assert!(
            src.lines().any(|l| l.starts_with("customer-suppor… ")),
            "{src}"
        );
    }
}
