//! The TUI never blocks its event loop on the file: with the write lock held from
//! outside, an edit waits on the writer's thread, keys keep working, the status bar
//! says what waits, and Esc cancels it.

mod tui_support;

use std::time::{Duration, Instant};

use switchboard::domain::EntityRef;
use switchboard::tui::App;
use switchboard::tui::action::Action;
use tui_support::{Fixture, message, press, screen};

fn background_app(f: &Fixture) -> App {
    f.app_with(|o| o.background_writes = true)
}

/// Another program holding the write lock until dropped.
struct Lock(rusqlite::Connection);

impl Lock {
    fn take(f: &Fixture) -> Lock {
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        Lock(conn)
    }

    fn release(self) {
        self.0.execute_batch("COMMIT").unwrap();
    }
}

/// Draws the screen until it shows `text` (at most 20 s); the screen then.
fn wait_for_screen(app: &mut App, text: &str) -> String {
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let t = screen(app, 80, 24);
        if t.contains(text) {
            return t;
        }
        assert!(Instant::now() < until, "'{text}' never showed:\n{t}");
        std::thread::sleep(Duration::from_millis(10));
        app.update(Action::WriteDone);
    }
}

/// Lets the writer's results in until no write is pending (at most 20 s).
fn settle(app: &mut App) {
    let until = Instant::now() + Duration::from_secs(20);
    while app.writing() {
        assert!(Instant::now() < until, "the write never finished");
        std::thread::sleep(Duration::from_millis(10));
        app.update(Action::WriteDone);
    }
}

fn max_load(f: &Fixture, name: &str) -> u32 {
    f.store()
        .operator(&EntityRef::parse(name))
        .unwrap()
        .max_load
}

#[test]
fn a_locked_file_does_not_freeze_keys_and_esc_cancels_the_write() {
    let f = Fixture::new();
    let mut app = background_app(&f);
    let lock = Lock::take(&f);
    // The lock is held until this test releases it, so a key that waited for the
    // file would never come back with the write still pending.
    press(&mut app, "+");
    assert!(app.writing(), "{}", message(&app));
    // Keys keep working: move down, switch tabs and back.
    press(&mut app, "j");
    assert_eq!(
        app.selected_operator_id(),
        Some(
            f.store()
                .operator(&EntityRef::parse("Boris Ivanov"))
                .unwrap()
                .id
        )
    );
    press(&mut app, "2 1");
    // Another edit is refused while one waits.
    press(&mut app, "+");
    assert!(
        message(&app).contains("still waiting for the file"),
        "{}",
        message(&app)
    );
    // The status bar says what waits once it has waited a moment (150 ms).
    wait_for_screen(
        &mut app,
        "saving operator 'Anna Petrova': waiting for the file",
    );
    assert!(app.writing(), "still locked: nothing could land");
    press(&mut app, "esc");
    settle(&mut app);
    assert!(message(&app).contains("cancelled"), "{}", message(&app));
    lock.release();
    assert_eq!(max_load(&f, "Anna Petrova"), 3, "nothing written");
}

#[test]
fn a_write_that_waited_lands_when_the_lock_goes() {
    let f = Fixture::new();
    let mut app = background_app(&f);
    let lock = Lock::take(&f);
    press(&mut app, "+");
    // It waits for as long as the lock is held: until the status bar says so, and
    // the write is still pending then.
    wait_for_screen(&mut app, "waiting for the file");
    assert!(app.writing());
    assert_eq!(
        max_load(&f, "Anna Petrova"),
        3,
        "nothing written under the lock"
    );
    lock.release();
    settle(&mut app);
    assert_eq!(max_load(&f, "Anna Petrova"), 4);
    assert!(
        message(&app).contains("max load 3 -> 4"),
        "{}",
        message(&app)
    );
    // A form saved in the background: a refusal opens it again with the reason.
    press(&mut app, "e");
    for _ in 0.."Anna Petrova".len() {
        press(&mut app, "backspace");
    }
    tui_support::type_text(&mut app, "Boris Ivanov");
    press(&mut app, "enter");
    settle(&mut app);
    assert!(app.has_dialog(), "the form is back");
    assert!(
        message(&app).contains("already exists"),
        "{}",
        message(&app)
    );
}
