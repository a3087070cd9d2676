//! Shared by the TUI tests: a small deterministic file, an App on it, key presses by
//! name, and the screen as text.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyEvent, KeyEventKind};
use switchboard::domain::{EntityRef, Strategy};
use switchboard::store::{NewContact, OpenOptions, OperatorPatch, Store};
use switchboard::tui::action::Action;
use switchboard::tui::{App, AppOptions, Key, render};

/// 2024-03-01 09:00 UTC: the fixture's history is in the past, so "today" counts are 0
/// whatever day the tests run.
pub const T0: i64 = 1_709_283_600_000;

pub fn open(path: &Path) -> Store {
    Store::open(
        path,
        OpenOptions {
            seed: Some(7),
            actor: Some("ann".into()),
            ..OpenOptions::default()
        },
    )
    .expect("open store")
}

/// Three operators with room and one inactive, three sources (one without weights,
/// so its contacts wait), and twelve contacts: routed, waiting and closed.
pub fn fixture(path: &Path) -> Store {
    let mut s = open(path);
    s.set_clock(Some(T0));
    s.add_operator("Anna Petrova", 3, true).unwrap();
    s.add_operator("Boris Ivanov", 2, true).unwrap();
    s.add_operator("Chen Wei", 4, true).unwrap();
    s.add_operator("Hugo Lefebvre", 2, true).unwrap();
    s.add_source(
        "telegram-bot",
        "Support bot in Telegram",
        Strategy::Weighted,
    )
    .unwrap();
    s.add_source(
        "web-form",
        "Contact form on the website",
        Strategy::Capacity,
    )
    .unwrap();
    s.add_source("phone", "Call centre line", Strategy::Weighted)
        .unwrap();
    for (op, src, w) in [
        ("Anna Petrova", "telegram-bot", 30),
        ("Boris Ivanov", "telegram-bot", 20),
        ("Chen Wei", "telegram-bot", 40),
        ("Chen Wei", "web-form", 10),
        ("Anna Petrova", "web-form", 50),
        ("Hugo Lefebvre", "telegram-bot", 10),
    ] {
        s.set_weight(&EntityRef::parse(op), &EntityRef::parse(src), w)
            .unwrap();
    }
    let people = [
        (
            "telegram-bot",
            "Olga Smirnova",
            Some("tg-1"),
            None,
            "Hello, my order has not arrived",
        ),
        (
            "web-form",
            "Ravi Khan",
            None,
            Some("+7 900 111-22-33"),
            "Can I get an invoice?",
        ),
        (
            "telegram-bot",
            "Emma Jensen",
            Some("tg-2"),
            None,
            "The app crashes",
        ),
        (
            "phone",
            "Pavel Muller",
            None,
            Some("+7 900 222-33-44"),
            "Please call me back",
        ),
        (
            "telegram-bot",
            "Olga Smirnova",
            Some("tg-1"),
            None,
            "Any news on my order?",
        ),
        (
            "web-form",
            "Lucia Rossi",
            None,
            Some("+7 900 333-44-55"),
            "Do you ship to Kazakhstan?",
        ),
        (
            "telegram-bot",
            "Tariq Haddad",
            Some("tg-3"),
            None,
            "Promo code does not work",
        ),
        (
            "phone",
            "Ravi Khan",
            None,
            Some("+7 900 111-22-33"),
            "Calling about my invoice",
        ),
        (
            "telegram-bot",
            "Aiko Tanaka",
            Some("tg-4"),
            None,
            "Is the winter sale on?",
        ),
        (
            "web-form",
            "Jonas Garcia",
            None,
            Some("+7 900 444-55-66"),
            "I forgot my password",
        ),
        (
            "phone",
            "Natalia Volkova",
            None,
            Some("+7 900 555-66-77"),
            "Where is the courier?",
        ),
        (
            "telegram-bot",
            "Freya Nowak",
            Some("tg-5"),
            None,
            "Thank you!",
        ),
    ];
    for (i, (src, name, ext, phone, msg)) in people.iter().enumerate() {
        s.set_clock(Some(T0 + i as i64 * 60_000));
        s.add_contact(&NewContact {
            source: Some(EntityRef::parse(src)),
            external_id: ext.map(str::to_string),
            phone: phone.map(str::to_string),
            name: Some(name.to_string()),
            message: Some(msg.to_string()),
            ..NewContact::default()
        })
        .unwrap();
        if i == 2 || i == 5 {
            let id = s.contacts(&Default::default(), None, 1).unwrap()[0].id;
            s.close_contact(id).unwrap();
        }
    }
    s.set_clock(Some(T0 + 20 * 60_000));
    s.update_operator(
        &EntityRef::parse("Hugo Lefebvre"),
        &OperatorPatch {
            active: Some(false),
            ..Default::default()
        },
    )
    .unwrap();
    s.set_clock(None);
    s
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.db");
        drop(fixture(&path));
        Fixture { dir, path }
    }

    pub fn empty() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.db");
        Fixture { dir, path }
    }

    /// Another file made the same way.
    pub fn again(&self) -> Fixture {
        if self.path.exists() {
            Fixture::new()
        } else {
            Fixture::empty()
        }
    }

    pub fn store(&self) -> Store {
        open(&self.path)
    }

    pub fn app(&self) -> App {
        self.app_with(|_| {})
    }

    pub fn app_with(&self, f: impl FnOnce(&mut AppOptions)) -> App {
        let mut options = AppOptions::for_tests().unwrap();
        f(&mut options);
        App::new(self.store(), options).unwrap()
    }
}

/// Presses keys given by name, space separated: `a`, `enter`, `ctrl-c`, `A`.
/// Sets an operator's max_load through the store, as another process would.
pub fn set_max_load(store: &mut Store, operator: EntityRef, max_load: u32) {
    store
        .update_operator(
            &operator,
            &OperatorPatch {
                max_load: Some(max_load),
                ..Default::default()
            },
        )
        .unwrap();
}

pub fn press(app: &mut App, keys: &str) {
    for name in keys.split(' ').filter(|k| !k.is_empty()) {
        key(app, name);
    }
}

pub fn key(app: &mut App, name: &str) {
    let k = Key::parse(name).unwrap_or_else(|e| panic!("{e}"));
    app.handle_key(KeyEvent::new_with_kind(k.code, k.mods, KeyEventKind::Press));
}

/// Types text character by character (spaces included).
pub fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        let k = Key::new(
            ratatui::crossterm::event::KeyCode::Char(c),
            ratatui::crossterm::event::KeyModifiers::NONE,
        );
        app.handle_key(KeyEvent::new(k.code, k.mods));
    }
}

pub fn resize(app: &mut App, w: u16, h: u16) {
    app.update(Action::Resize(w, h));
}

/// The screen at `w` x `h` as text, lines right-trimmed (the App redacts times and
/// the temporary path).
pub fn screen(app: &mut App, w: u16, h: u16) -> String {
    resize(app, w, h);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    terminal.draw(|f| render(app, f)).unwrap();
    let buf = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        let mut line = String::new();
        for x in 0..w {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn message(app: &App) -> String {
    app.message().map(|m| m.text.clone()).unwrap_or_default()
}
