//! Every tab, dialog, the help overlay, the empty state and the too-small screen,
//! rendered into ratatui's TestBackend at 80x24 and 120x40. The App redacts times and
//! the temporary file's path (`AppOptions::redact`).

mod tui_support;

use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use switchboard::store::NewContact;
use switchboard::tui::action::Action;
use switchboard::tui::render;
use tui_support::{Fixture, key, press, screen, type_text};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// Snapshots the app at both sizes after `setup`, each on a fresh copy of the file
/// `fixture` was made like.
fn both(name: &str, fixture: &Fixture, setup: impl Fn(&mut switchboard::tui::App)) {
    for (w, h) in SIZES {
        let fresh = fixture.again();
        let mut app = fresh.app();
        tui_support::resize(&mut app, w, h);
        setup(&mut app);
        assert_snapshot!(format!("{name}_{w}x{h}"), screen(&mut app, w, h));
    }
}

#[test]
fn operators_tab() {
    let f = Fixture::new();
    both("operators", &f, |_| {});
    both("operators_detail", &f, |app| press(app, "j j enter"));
    // Sorted by load, least first, the selection still on Chen.
    both("operators_sorted", &f, |app| press(app, "j j o o r"));
    both("operators_filtered", &f, |app| {
        press(app, "/");
        type_text(app, "an");
    });
}

#[test]
fn sources_tab() {
    let f = Fixture::new();
    both("sources", &f, |app| press(app, "2"));
    // Sorted by total, most first.
    both("sources_sorted", &f, |app| press(app, "2 o o o o"));
}

#[test]
fn weights_tab() {
    let f = Fixture::new();
    both("weights", &f, |app| press(app, "3 j l"));
    both("weights_typing", &f, |app| press(app, "3 l enter 4 2"));
    // A key that would leave typed digits behind is refused and says why.
    both("weights_typing_refused", &f, |app| {
        press(app, "3 l enter 4 2 j")
    });
}

#[test]
fn feed_tab() {
    let f = Fixture::new();
    // Waiting, active and closed rows; two marked.
    both("feed", &f, |app| press(app, "4 j space space"));
    both("feed_waiting_only", &f, |app| press(app, "4 w"));
    // The longest waiting on top.
    both("feed_waiting_oldest_first", &f, |app| press(app, "4 w r"));
}

#[test]
fn feed_highlights_new_rows_and_counts_them_when_scrolled() {
    for (w, h) in SIZES {
        let f = Fixture::new();
        let mut other = f.store();
        // Enough history for more than one page, there before the App starts.
        let filler: Vec<NewContact> = (0..60)
            .map(|i| NewContact {
                source: Some("web-form".into()),
                external_id: Some(format!("filler-{i}")),
                message: Some("Older contact".into()),
                ..NewContact::default()
            })
            .collect();
        other.add_contacts(&filler).unwrap();
        let mut app = f.app();
        tui_support::resize(&mut app, w, h);
        press(&mut app, "4");
        let add = |other: &mut switchboard::store::Store, name: &str| {
            other
                .add_contact(&NewContact {
                    source: Some("phone".into()),
                    name: Some(name.into()),
                    email: Some(format!("{}@example.com", name.to_lowercase())),
                    message: Some("Just arrived".into()),
                    ..NewContact::default()
                })
                .unwrap();
        };
        add(&mut other, "Newcomer");
        app.update(Action::Tick);
        assert_snapshot!(format!("feed_fresh_{w}x{h}"), screen(&mut app, w, h));
        // Scrolled down a page, new contacts are counted instead of shown.
        press(&mut app, "pagedown");
        add(&mut other, "Later");
        add(&mut other, "Latest");
        app.update(Action::Tick);
        assert_eq!(app.feed_new_above(), 2);
        assert_snapshot!(format!("feed_scrolled_{w}x{h}"), screen(&mut app, w, h));
    }
}

#[test]
fn dialogs() {
    let f = Fixture::new();
    both("add_operator", &f, |app| {
        press(app, "a");
        type_text(app, "Zoe");
    });
    both("confirm_delete_operator", &f, |app| {
        // An operator that holds no open contacts, so deleting is allowed.
        app.store().add_operator("Idle Ivan", 2, true).unwrap();
        app.update(Action::Tick);
        press(app, "G d");
    });
    both("add_source", &f, |app| press(app, "2 a"));
    both("assign_picker", &f, |app| press(app, "4 w a"));
    both("confirm_force", &f, |app| press(app, "4 w a G enter"));
    both("feed_filter", &f, |app| press(app, "4 f right down right"));
    both("lead_card", &f, |app| press(app, "4 G enter"));
    both("simulator", &f, |app| press(app, "4 s"));
    both("audit", &f, |app| press(app, "L"));
    both("help", &f, |app| press(app, "?"));
}

#[test]
fn long_messages_take_the_status_bar_line_and_keep_the_footer() {
    let f = Fixture::new();
    // Anna holds open contacts: deleting is refused with a long message.
    both("delete_refused", &f, |app| press(app, "d"));
}

#[test]
fn empty_file() {
    let f = Fixture::empty();
    both("empty", &f, |_| {});
    both("empty_weights", &f, |app| press(app, "3"));
    both("empty_feed", &f, |app| press(app, "4"));
}

#[test]
fn read_only() {
    let f = Fixture::new();
    for (w, h) in SIZES {
        let mut app = f.app_with(|o| o.read_only = true);
        key(&mut app, "space");
        assert_snapshot!(format!("read_only_{w}x{h}"), screen(&mut app, w, h));
    }
}

#[test]
fn too_small() {
    let f = Fixture::new();
    let mut app = f.app();
    assert_snapshot!("too_small_59x24", screen(&mut app, 59, 24));
    assert_snapshot!("too_small_80x15", screen(&mut app, 80, 15));
    // Tiny sizes draw something sensible and never panic.
    for (w, h) in [(1, 1), (10, 3), (0, 0), (60, 16), (200, 60)] {
        let _ = screen(&mut app, w, h);
    }
}

#[test]
fn selection_shows_in_reverse_video_without_colour() {
    let f = Fixture::new();
    let mut app = f.app();
    tui_support::resize(&mut app, 80, 24);
    press(&mut app, "j");
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(|fr| render(&app, fr)).unwrap();
    let buf = terminal.backend().buffer();
    // Row 0 tabs, row 1 header, rows 2.. operators; the second operator is selected.
    assert!(buf[(0, 3)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(0, 2)].modifier.contains(Modifier::REVERSED));
    for x in 0..80 {
        assert_eq!(
            buf[(x, 3)].fg,
            ratatui::style::Color::Reset,
            "no colour without a theme"
        );
    }
}

#[test]
fn weights_grid_scrolls_both_ways_keeping_headers() {
    let f = Fixture::empty();
    {
        let mut s = f.store();
        for i in 0..30 {
            s.add_operator(&format!("Operator {i:02}"), 5, i % 7 != 3)
                .unwrap();
        }
        for j in 0..10 {
            s.add_source(
                &format!("source-{j}"),
                "",
                switchboard::domain::Strategy::Weighted,
            )
            .unwrap();
            for i in (0..30).filter(|i| (i + j) % 4 == 0) {
                s.set_weight(
                    &format!("Operator {i:02}").as_str().into(),
                    &format!("source-{j}").as_str().into(),
                    (i * 10 + j) as u32 + 1,
                )
                .unwrap();
            }
        }
    }
    for (w, h) in SIZES {
        let mut app = f.app();
        tui_support::resize(&mut app, w, h);
        press(&mut app, "3 G");
        for _ in 0..8 {
            press(&mut app, "l");
        }
        let t = screen(&mut app, w, h);
        // The header row and the name column stay; the far corner is in view.
        assert!(t.lines().nth(1).unwrap().contains("◀ operator"), "{t}");
        assert!(t.contains("source-8") && t.contains("Operator 29"), "{t}");
        if h == 24 {
            assert!(!t.contains("Operator 00"), "rows scrolled too: {t}");
        }
        assert_snapshot!(format!("weights_scrolled_{w}x{h}"), t);
    }
    // Scrolled to the far corner at 80x24, then made wider: more columns show and
    // the selected one stays in view.
    let mut app = f.app();
    tui_support::resize(&mut app, 80, 24);
    press(&mut app, "3 G");
    for _ in 0..8 {
        press(&mut app, "l");
    }
    let t = screen(&mut app, 120, 40);
    assert!(t.contains("source-3") && t.contains("source-9"), "{t}");
    assert_snapshot!("weights_scrolled_then_wider_120x40", t);
}
