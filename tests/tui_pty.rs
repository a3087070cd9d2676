//! The real binary in a pseudo-terminal, read through a vt100 parser. Every wait is for
//! screen text with a deadline; nothing sleeps a fixed time.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};
use switchboard::domain::{ContactStatus, EntityRef, Strategy};
use switchboard::store::{FeedFilter, OpenOptions, Store};

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");
const DEADLINE: Duration = Duration::from_secs(20);

struct Tui {
    screen: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _master: Box<dyn MasterPty + Send>,
}

impl Tui {
    /// Starts `switchboard` with `args` in a `cols` x `rows` terminal, with a config
    /// directory of its own (no user keymap) and colour off.
    fn start(dir: &Path, args: &[&str], cols: u16, rows: u16) -> Tui {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(args);
        cmd.cwd(dir);
        cmd.env("HOME", dir);
        cmd.env("XDG_CONFIG_HOME", dir.join("config"));
        cmd.env_remove("SWITCHBOARD_KEYMAP");
        cmd.env("NO_COLOR", "1");
        cmd.env("USER", "pty-tester");
        cmd.env("TERM", "xterm-256color");
        let child = pty.slave.spawn_command(cmd).expect("spawn");
        drop(pty.slave);
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                if let Ok(mut p) = sink.lock() {
                    p.process(&buf[..n]);
                }
            }
        });
        Tui {
            screen,
            writer,
            child,
            _master: pty.master,
        }
    }

    fn contents(&self) -> String {
        self.screen.lock().unwrap().screen().contents()
    }

    /// Waits until `text` is on screen; the screen's contents when it is.
    fn wait_for(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let c = self.contents();
            if c.contains(text) {
                return c;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "'{text}' did not appear within {DEADLINE:?}; the screen:\n{c}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `alternate` says whether the screen is the alternate one.
    fn wait_alternate_screen(&self, alternate: bool) {
        let start = Instant::now();
        while self.screen.lock().unwrap().screen().alternate_screen() != alternate {
            assert!(
                start.elapsed() < DEADLINE,
                "alternate screen still {} after {DEADLINE:?}; the screen:\n{}",
                !alternate,
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).unwrap();
        self.writer.flush().unwrap();
    }

    fn wait_exit(&mut self) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < DEADLINE,
                "the TUI did not exit:\n{}",
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
    }
}

fn store(path: &Path) -> Store {
    Store::open(path, OpenOptions::default()).unwrap()
}

#[test]
fn add_an_operator_and_a_weight_by_keyboard_then_quit() {
    let dir = tempfile::tempdir().unwrap();
    let mut tui = Tui::start(dir.path(), &["--db", "sb.db"], 80, 24);
    tui.wait_for("This file is empty");
    tui.wait_for("switchboard demo");
    // a, name, Tab, max load, Enter.
    tui.send("a");
    tui.wait_for("Add operator");
    tui.send("Rosa Diaz\t\x7f4\r");
    tui.wait_for("operator 'Rosa Diaz' added");
    // A source, then its weight on the Weights tab: 3, Enter, digits, Enter.
    tui.send("2");
    tui.wait_for("No sources yet");
    tui.send("a");
    tui.wait_for("Add source");
    tui.send("web-form\r");
    tui.wait_for("source 'web-form' added");
    tui.send("3");
    tui.wait_for("weight and % of the source");
    tui.send("\r15\r");
    tui.wait_for("weight Rosa Diaz x web-form: 0 -> 15");
    // Help opens and closes; q quits and gives the terminal back.
    tui.send("?");
    tui.wait_for("Keys · Esc or ? closes");
    tui.send("?");
    tui.wait_for("Enter edit");
    tui.send("q");
    assert!(tui.wait_exit().success());

    let mut s = store(&dir.path().join("sb.db"));
    let ops = s.operators().unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!((ops[0].name.as_str(), ops[0].max_load), ("Rosa Diaz", 4));
    let w = s.weights().unwrap();
    assert_eq!(
        (w[0].operator.as_str(), w[0].source.as_str(), w[0].weight),
        ("Rosa Diaz", "web-form", 15)
    );
    let audit = s.audit_log(None, None, 10).unwrap();
    assert!(audit.iter().all(|e| e.actor == "pty-tester"));
}

#[test]
fn a_contact_added_by_another_process_appears_and_is_assigned_by_keyboard() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sb.db");
    {
        let mut s = store(&db);
        s.add_operator("Rosa Diaz", 3, true).unwrap();
        s.add_source("web-form", "", Strategy::Weighted).unwrap();
        // No weights: a new contact waits for a person.
    }
    let mut tui = Tui::start(dir.path(), &["--db", "sb.db"], 80, 24);
    tui.wait_for("Rosa Diaz");
    tui.send("4");
    tui.wait_for("newest first, following");

    let out = Command::new(BIN)
        .args(["--db", "sb.db", "contact", "add", "--source", "web-form"])
        .args(["--name", "Pty Person", "--phone", "+7 900 765-43-21"])
        .args(["--message", "Hello from another process"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = tui.wait_for("Pty Person");
    assert!(screen.contains("waiting"), "{screen}");
    tui.wait_for("Feed (1 waiting)");

    // a opens the picker, Enter assigns to the only operator.
    tui.send("a");
    tui.wait_for("Assign to operator");
    tui.send("\r");
    tui.wait_for("assigned to Rosa Diaz");
    tui.send("q");
    assert!(tui.wait_exit().success());

    let mut s = store(&db);
    let c = &s.contacts(&FeedFilter::default(), None, 1).unwrap()[0];
    assert_eq!(c.lead, "Pty Person");
    assert_eq!(
        (c.status, c.operator.as_deref()),
        (ContactStatus::Active, Some("Rosa Diaz"))
    );
    assert_eq!(c.assigned_by.as_deref(), Some("pty-tester"));
}

#[test]
fn two_tuis_on_one_file_see_each_others_changes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sb.db");
    store(&db).add_operator("Rosa Diaz", 3, true).unwrap();
    let mut one = Tui::start(dir.path(), &["--db", "sb.db"], 80, 24);
    let mut two = Tui::start(dir.path(), &["--db", "sb.db"], 120, 40);
    one.wait_for("Rosa Diaz");
    two.wait_for("Rosa Diaz");
    one.send("+");
    one.wait_for("max load 3 -> 4");
    two.wait_for("0/4");
    two.send(" ");
    two.wait_for("'Rosa Diaz' is now inactive");
    let s = one.wait_for("Rosa Diaz");
    let start = Instant::now();
    let mut screen = s;
    while !screen
        .lines()
        .any(|l| l.starts_with("Rosa Diaz") && l.contains(" no "))
    {
        assert!(start.elapsed() < DEADLINE, "{screen}");
        std::thread::sleep(Duration::from_millis(10));
        screen = one.contents();
    }
    one.send("q");
    two.send("q");
    assert!(one.wait_exit().success());
    assert!(two.wait_exit().success());
    let op = store(&db).operator(&EntityRef::parse("Rosa Diaz")).unwrap();
    assert_eq!((op.max_load, op.active), (4, false));
}

#[test]
fn too_small_then_resized_and_sigterm_restores_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut tui = Tui::start(dir.path(), &["--db", "sb.db"], 50, 12);
    tui.wait_for("terminal too small");
    tui.screen.lock().unwrap().screen_mut().set_size(24, 80);
    tui._master
        .resize(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    tui.wait_for("This file is empty");
    assert!(tui.screen.lock().unwrap().screen().alternate_screen());
    sigterm_restores_the_terminal(&mut tui);
}

#[test]
fn sigterm_just_after_the_switch_to_the_alternate_screen_restores_it() {
    // The handler must be in place before the terminal is switched: a signal that
    // lands before the first draw ends the TUI cleanly too.
    let dir = tempfile::tempdir().unwrap();
    let mut tui = Tui::start(dir.path(), &["--db", "sb.db"], 80, 24);
    tui.wait_alternate_screen(true);
    sigterm_restores_the_terminal(&mut tui);
}

#[test]
fn sigint_and_sigquit_from_outside_restore_the_terminal_too() {
    // In raw mode Ctrl-C and Ctrl-\ are keys; these are signals sent by another
    // process (kill, a supervisor's script, systemd).
    for signal in ["INT", "QUIT", "HUP"] {
        let dir = tempfile::tempdir().unwrap();
        let mut tui = Tui::start(dir.path(), &["--db", "sb.db"], 80, 24);
        tui.wait_for("This file is empty");
        signal_restores_the_terminal(&mut tui, signal);
    }
}

/// Sends SIGTERM and checks the TUI exits cleanly with the terminal restored.
fn sigterm_restores_the_terminal(tui: &mut Tui) {
    signal_restores_the_terminal(tui, "TERM");
}

/// Sends `signal` and checks the TUI exits cleanly with the terminal restored.
fn signal_restores_the_terminal(tui: &mut Tui, signal: &str) {
    let pid = tui.child.process_id().unwrap();
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // A clean exit (0), not death by the signal's default action: the handler ran.
    let exit = tui.wait_exit();
    assert!(
        exit.success(),
        "SIG{signal} should end the TUI cleanly: {exit:?}"
    );
    tui.wait_alternate_screen(false);
    assert!(
        !tui.screen.lock().unwrap().screen().hide_cursor(),
        "cursor shown again"
    );
}

#[test]
fn a_keymap_file_that_is_named_but_missing_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--db", "sb.db"])
        .env("SWITCHBOARD_KEYMAP", dir.path().join("typo.toml"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("typo.toml (named by SWITCHBOARD_KEYMAP): no such file"),
        "{err}"
    );
}

#[test]
fn without_a_terminal_the_screen_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--db", "sb.db"])
        .env_remove("SWITCHBOARD_KEYMAP")
        .env("XDG_CONFIG_HOME", dir.path())
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the screen needs a terminal"), "{err}");
    assert!(err.contains("subcommand"), "{err}");
}

#[test]
fn term_dumb_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut cmd = CommandBuilder::new(BIN);
    cmd.args(["--db", "sb.db"]);
    cmd.cwd(dir.path());
    cmd.env("XDG_CONFIG_HOME", dir.path());
    cmd.env_remove("SWITCHBOARD_KEYMAP");
    cmd.env("TERM", "dumb");
    let mut child = pty.slave.spawn_command(cmd).expect("spawn");
    drop(pty.slave);
    let mut reader = pty.master.try_clone_reader().expect("reader");
    let status = child.wait().expect("wait");
    drop(pty.master);
    let mut out = Vec::new();
    let _ = reader.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(!status.success());
    assert!(text.contains("TERM=dumb cannot draw the screen"), "{text}");
    assert!(
        !text.contains("\x1b[?1049h"),
        "the terminal was not taken over"
    );
}

#[test]
fn a_bad_keymap_is_refused_before_the_terminal_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let keymap = dir.path().join("keys.toml");
    std::fs::write(&keymap, "[operators]\nadd = [\"q\"]\n").unwrap();
    let out = Command::new(BIN)
        .args(["--db", "sb.db"])
        .env("SWITCHBOARD_KEYMAP", &keymap)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("'q' is bound to both"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("\x1b[?1049h"));
}

/// A contact posted over HTTP shows in a supervisor's feed on the same file: the
/// server and the TUI are two processes, and the TUI learns of the commit from
/// `PRAGMA data_version`, not from the server.
#[test]
fn a_contact_posted_over_http_shows_in_the_feed() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sb.db");
    {
        let mut s = Store::open(&db, OpenOptions::default()).unwrap();
        s.add_operator("Ann", 5, true).unwrap();
        s.add_source("web", "", Strategy::Weighted).unwrap();
        s.set_weight(&EntityRef::parse("Ann"), &EntityRef::parse("web"), 1)
            .unwrap();
    }
    let mut server = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(server.stderr.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "serve ended");
        if let Some(i) = line.find("http://") {
            let rest = &line[i..];
            break rest[..rest.find(' ').unwrap()].to_string();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let mut tui = Tui::start(dir.path(), &["--db", "sb.db"], 100, 30);
    tui.wait_for("Operators");
    tui.send("4");
    tui.wait_for("following");
    let reply = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/contacts"))
        .body(r#"{"source":"web","email":"posted@example.com","message":"over HTTP"}"#)
        .send()
        .unwrap();
    assert_eq!(reply.status().as_u16(), 201);
    let screen = tui.wait_for("over HTTP");
    assert!(screen.contains("posted@example.com"), "{screen}");
    assert!(screen.contains("Ann"), "{screen}");
    tui.send("q");
    server.kill().unwrap();
    let _ = server.wait();
}
