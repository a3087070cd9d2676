//! Nothing from the data reaches the terminal as control: hostile text planted straight
//! in the file (as an older build or another program could leave it) is drawn by every
//! tab and dialog as visible escapes, at 80x24 and 120x40. The check reads the cells
//! of ratatui's buffer, not a joined string.

mod tui_support;

use std::time::{SystemTime, UNIX_EPOCH};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use switchboard::store::{OpenOptions, Store};
use switchboard::tui::{App, AppOptions, render};
use tui_support::{Fixture, press, resize, type_text};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

/// Operators: an OSC that sets the window title, a right-to-left override, tab and CR,
/// an isolate and NUL.
const ANNA: &str = "Ann\u{1b}]2;pwned\u{7}";
const BORIS: &str = "rtl\u{202e}txt";
const CHEN: &str = "Chen\tWei\r";
const HUGO: &str = "Hugo\u{2067}\0";
/// Sources: a screen clear, an 8-bit NEL, a line separator.
const TELEGRAM: &str = "\u{1b}[2J";
const WEB: &str = "web\u{85}form";
const PHONE: &str = "ph\u{2028}one";

/// What each planted text looks like on screen.
const ANNA_SHOWN: &str = "Ann\\e]2;pwned\\u{7}";
const BORIS_SHOWN: &str = "rtl\\u{202e}txt";
const TELEGRAM_SHOWN: &str = "\\e[2J";
const WEB_SHOWN: &str = "web\\u{85}form";
const PHONE_SHOWN: &str = "ph\\u{2028}one";
/// Every lead's name starts with an 8-bit CSI; every message with a colour sequence
/// and ends with a CRLF line.
const LEAD_SHOWN: &str = "x\\u{9b}31m";
const MESSAGE_SHOWN: &str = "\\e[31m";

/// The fixture, then hostile text in every kind of stored text, by raw SQL: the store
/// refuses control characters in names at intake.
fn planted() -> Fixture {
    let f = Fixture::new();
    let db = rusqlite::Connection::open(&f.path).unwrap();
    let rename = |table: &str, from: &str, to: &str| {
        let n = db
            .execute(
                &format!("UPDATE {table} SET name = ?2 WHERE name = ?1"),
                [from, to],
            )
            .unwrap();
        assert_eq!(n, 1, "{table} {from}");
    };
    rename("operator", "Anna Petrova", ANNA);
    rename("operator", "Boris Ivanov", BORIS);
    rename("operator", "Chen Wei", CHEN);
    rename("operator", "Hugo Lefebvre", HUGO);
    rename("source", "telegram-bot", TELEGRAM);
    rename("source", "web-form", WEB);
    rename("source", "phone", PHONE);
    db.execute_batch(
        "UPDATE source SET description = char(8294) || 'bot' || char(8297) || char(27) || '[5m' || description;
         UPDATE lead SET name = 'x' || char(155) || '31m' || name,
                         external_id = external_id || char(27) || '[1A',
                         phone = phone || char(8238),
                         email = 'e' || id || char(7) || '@example.com';
         UPDATE contact SET message = char(27) || '[31m' || message || char(13, 10) || 'bye';",
    )
    .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    db.execute(
        "INSERT INTO audit (at, actor, action, entity, entity_id, before, after)
         VALUES (?1, ?2, 'operator.update', 'operator', 1, ?3, ?4)",
        rusqlite::params![
            now,
            "eve\u{1b}[2J",
            r#"{"max_load": "3\u001b[8m"}"#,
            r#"{"max_load": "4\u202e"}"#
        ],
    )
    .unwrap();
    f
}

/// Characters that act on a terminal instead of being drawn.
fn acts_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

/// The raw cells of one frame.
fn draw(app: &mut App, w: u16, h: u16) -> Buffer {
    resize(app, w, h);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| render(app, f)).unwrap();
    terminal.backend().buffer().clone()
}

/// The cells as text, one line per row.
fn text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// Draws an App on a freshly [`planted`] file after `setup`, at both sizes: no cell
/// holds a character that acts on a terminal, and every one of `shown` is on screen.
fn clean(what: &str, setup: impl Fn(&mut App), shown: &[&str]) {
    clean_with(
        || {
            let f = planted();
            let app = f.app();
            (f, app)
        },
        what,
        setup,
        shown,
    )
}

/// [`clean`] with the App, and the file it keeps alive, made by `app`.
fn clean_with(
    app: impl Fn() -> (Fixture, App),
    what: &str,
    setup: impl Fn(&mut App),
    shown: &[&str],
) {
    for (w, h) in SIZES {
        let (_file, mut app) = app();
        resize(&mut app, w, h);
        setup(&mut app);
        let buf = draw(&mut app, w, h);
        let screen = text(&buf);
        for y in 0..h {
            for x in 0..w {
                let symbol = buf[(x, y)].symbol();
                if let Some(c) = symbol.chars().find(|&c| acts_on_terminal(c)) {
                    panic!(
                        "{what} at {w}x{h}: U+{:04X} in cell ({x}, {y}):\n{screen}",
                        c as u32
                    );
                }
            }
        }
        for s in shown {
            assert!(
                screen.contains(s),
                "{what} at {w}x{h}: {s:?} not on screen:\n{screen}"
            );
        }
    }
}

#[test]
fn operators_tab_and_detail() {
    clean(
        "operators",
        |_| {},
        &[ANNA_SHOWN, BORIS_SHOWN, "Chen\\tWei\\r"],
    );
    // The detail pane's title, weights by source and open contacts.
    clean(
        "operator detail",
        |app| press(app, "enter"),
        &[TELEGRAM_SHOWN, WEB_SHOWN, LEAD_SHOWN],
    );
    clean(
        "operator filter",
        |app| {
            press(app, "/");
            type_text(app, "rtl\u{202e}");
        },
        &["/rtl\\u{202e}", BORIS_SHOWN],
    );
    // Messages quote stored names: an info and an error.
    clean("status info", |app| press(app, "+"), &[ANNA_SHOWN]);
    clean(
        "status error",
        |app| press(app, "d"),
        &[&format!("operator '{ANNA_SHOWN}' holds")],
    );
}

#[test]
fn sources_and_weights_tabs() {
    clean(
        "sources",
        |app| press(app, "2"),
        &[TELEGRAM_SHOWN, WEB_SHOWN, PHONE_SHOWN, "\\u{2066}bot"],
    );
    clean("weights", |app| press(app, "3"), &["Ann\\e]2;", "\\e[2J"]);
}

#[test]
fn feed_lead_card_and_assign_picker() {
    clean(
        "feed",
        |app| press(app, "4"),
        &[TELEGRAM_SHOWN, LEAD_SHOWN, MESSAGE_SHOWN, "Ann\\e]2;"],
    );
    clean(
        "feed search",
        |app| {
            press(app, "4 /");
            type_text(app, "a\u{1b}b");
        },
        &["/a\\eb"],
    );
    clean(
        "lead card",
        |app| press(app, "4 enter"),
        &[LEAD_SHOWN, "\\e[1A", "\\u{7}@example.com", MESSAGE_SHOWN],
    );
    clean(
        "lead card with a phone",
        |app| press(app, "4 j enter"),
        &["6677\\u{202e}"],
    );
    clean(
        "assign picker",
        |app| press(app, "4 w a"),
        &[LEAD_SHOWN, PHONE_SHOWN, ANNA_SHOWN, BORIS_SHOWN],
    );
    // Nobody has a weight in that source: assigning asks first, quoting the names.
    clean(
        "assign confirm",
        |app| press(app, "4 w a G enter"),
        &[LEAD_SHOWN, "'Hugo\\u{2067}\\0' is inactive"],
    );
    clean(
        "filter picker",
        |app| press(app, "4 f l j l"),
        &[TELEGRAM_SHOWN, ANNA_SHOWN],
    );
    clean(
        "feed filtered",
        |app| press(app, "4 f l j l enter"),
        &["source \\e[2J · operator Ann\\e]2;"],
    );
}

#[test]
fn audit_log_forms_and_help() {
    clean(
        "audit log",
        |app| press(app, "L"),
        &["eve\\e[2J", "3\\e[8m -> 4\\u{202e}"],
    );
    clean(
        "edit form",
        |app| press(app, "e"),
        &["Edit operator", ANNA_SHOWN],
    );
    clean(
        "source edit form",
        |app| press(app, "2 e"),
        &[TELEGRAM_SHOWN, "\\e[5mSupport bot"],
    );
    clean(
        "simulator source",
        |app| press(app, "s l"),
        &[TELEGRAM_SHOWN],
    );
    clean("help", |app| press(app, "?"), &[]);
}

#[test]
fn file_path_and_actor_in_the_status_bar() {
    let app = || {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("in\u{1b}]0;x\u{7}");
        std::fs::create_dir(&inner).unwrap();
        let path = inner.join("switchboard.db");
        drop(tui_support::fixture(&path));
        // An actor with a control character never gets this far: it is refused
        // before the file is touched.
        let refused = Store::open(
            &path,
            OpenOptions {
                actor: Some("eve\u{1b}[2J".into()),
                ..OpenOptions::default()
            },
        );
        assert!(
            refused.is_err_and(|e| e.to_string().contains("actor")),
            "a control character in the actor is refused"
        );
        let store = Store::open(
            &path,
            OpenOptions {
                actor: Some("eve".into()),
                ..OpenOptions::default()
            },
        )
        .unwrap();
        let mut options = AppOptions::for_tests().unwrap();
        // Shows the real path (and real times).
        options.redact = false;
        let app = App::new(store, options).unwrap();
        (Fixture { dir, path }, app)
    };
    clean_with(app, "status bar", |_| {}, &["in\\e]0;x\\u{7}", "eve"]);
}
