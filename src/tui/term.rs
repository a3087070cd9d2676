//! The terminal and the event loop: raw mode and the alternate screen, restored on
//! every way out (return, error, panic, SIGTERM, SIGHUP, SIGINT, SIGQUIT); crossterm's EventStream and
//! a 200 ms tick under `tokio::select!`; a draw only when something changed.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    DisableMouseCapture, EnableMouseCapture, Event, EventStream, MouseEventKind,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

use super::TuiError;
use super::action::{Action, Command};
use super::app::App;
use super::views;

/// How often the file is polled for other processes' changes.
pub const TICK: Duration = Duration::from_millis(200);

static ENTERED: AtomicBool = AtomicBool::new(false);
static MOUSE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back the way it was. Safe to call twice, and from a panic hook.
fn restore() {
    if !ENTERED.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    if MOUSE.load(Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(out, LeaveAlternateScreen, ratatui::crossterm::cursor::Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Restores the terminal when dropped, whichever way the loop ends.
struct Guard;

impl Guard {
    fn enter(mouse: bool) -> io::Result<Guard> {
        // Restore before the panic message is printed, or it lands in the alternate
        // screen and vanishes. color-eyre's hook (installed in main) runs after.
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
        enable_raw_mode()?;
        ENTERED.store(true, Ordering::SeqCst);
        MOUSE.store(mouse, Ordering::SeqCst);
        let mut out = io::stdout();
        execute!(
            out,
            EnterAlternateScreen,
            Clear(ClearType::All),
            ratatui::crossterm::cursor::Hide
        )?;
        if mouse {
            execute!(out, EnableMouseCapture)?;
        }
        Ok(Guard)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

pub fn run(mut app: App, mouse: bool) -> Result<(), TuiError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Handlers first: a SIGTERM or SIGHUP that lands just after the terminal is
    // switched must already end the loop (and restore it), not kill the process.
    let stop = {
        let _context = runtime.enter();
        StopSignals::new()?
    };
    let guard = Guard::enter(mouse)?;
    // No `terminal.clear()`: it asks the terminal for the cursor position, which a
    // terminal that never answers turns into a start-up failure.
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    let result = runtime.block_on(event_loop(&mut terminal, &mut app, mouse, stop));
    app.stop_simulator();
    drop(terminal);
    drop(guard);
    result
}

async fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<io::Stdout>>,
    app: &mut App,
    mouse: bool,
    mut stop: StopSignals,
) -> Result<(), TuiError> {
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    if let Ok(size) = terminal.size() {
        app.update(Action::Resize(size.width, size.height));
    }
    // Writes run on their own thread; this wakes the loop when one is done.
    let written = app
        .write_wakeup()
        .unwrap_or_else(|| std::sync::Arc::new(tokio::sync::Notify::new()));
    loop {
        if app.take_dirty() {
            terminal.draw(|f| views::render(app, f))?;
        }
        if app.should_quit() {
            return Ok(());
        }
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(e)) => {
                    handle(app, e, mouse);
                    // Whatever else is already queued is handled before one draw.
                    while let Some(Some(Ok(e))) = events.next().now_or_never() {
                        handle(app, e, mouse);
                    }
                }
                Some(Err(e)) => return Err(e.into()),
                // The terminal went away.
                None => return Ok(()),
            },
            _ = tick.tick() => app.update(Action::Tick),
            _ = written.notified() => app.update(Action::WriteDone),
            _ = stop.recv() => return Ok(()),
        }
    }
}

fn handle(app: &mut App, event: Event, mouse: bool) {
    match event {
        Event::Key(key) => app.handle_key(key),
        Event::Resize(w, h) => app.update(Action::Resize(w, h)),
        Event::Mouse(m) if mouse => match m.kind {
            MouseEventKind::ScrollDown => app.update(Action::Command(Command::Down)),
            MouseEventKind::ScrollUp => app.update(Action::Command(Command::Up)),
            _ => {}
        },
        _ => {}
    }
}

/// SIGTERM, SIGHUP (a dropped SSH session), SIGINT and SIGQUIT (sent from outside:
/// in raw mode Ctrl-C and Ctrl-\ are keys, not signals) end the loop so the terminal
/// is restored.
#[cfg(unix)]
struct StopSignals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    quit: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl StopSignals {
    fn new() -> io::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.hup.recv() => {}
            _ = self.int.recv() => {}
            _ = self.quit.recv() => {}
        }
    }
}

#[cfg(not(unix))]
struct StopSignals;

#[cfg(not(unix))]
impl StopSignals {
    fn new() -> io::Result<StopSignals> {
        Ok(StopSignals)
    }

    async fn recv(&mut self) {
        futures::future::pending::<()>().await
    }
}
