//! The supervisor TUI: one App model, one Action enum, `update`, a render pass that
//! only reads, key bindings as data, and a tokio loop over terminal events and a
//! ~200 ms tick that polls the file's `data_version` for other processes' changes.

pub mod action;
pub mod app;
pub mod effect;
pub mod keymap;
pub mod layout;
pub mod model;
pub mod overlays;
pub mod tabs;
mod term;
pub mod theme;
pub mod views;
pub mod writer;

use std::path::PathBuf;

use crate::cli::{self, CliError, args::Global};
use crate::settings::Settings;
use crate::store::StoreError;

pub use app::{App, AppOptions};
pub use keymap::{Key, Keymap, KeymapError};
pub use model::{Message, MessageKind, Tab};
pub use views::render;

/// The demo's file when `--demo` is given without `--db`.
pub const DEMO_DB: &str = "switchboard-demo.db";

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Cli(#[from] CliError),
    #[error("key bindings: {0}")]
    Keymap(#[from] KeymapError),
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("{0}")]
    NoTerminal(String),
}

/// `switchboard` with no subcommand: opens the TUI on the file (created if missing).
pub fn run(global: &Global, settings: &Settings) -> Result<(), TuiError> {
    // Everything that can fail for a reason the user should read happens before the
    // terminal is taken over, so the message lands on a normal screen.
    let keymap = Keymap::load(settings.keymap.as_ref())?;
    let mut settings = settings.clone();
    if global.demo && global.read_only {
        return Err(CliError::Usage(
            "--demo loads data and runs a simulator, which --read-only forbids; use one of them"
                .into(),
        )
        .into());
    }
    // The demo's own file, unless --db names one ($SWITCHBOARD_DB does not).
    if global.demo && global.db.is_none() {
        settings.db = PathBuf::from(DEMO_DB);
    }
    if global.demo {
        check_terminal(&settings)?;
        create_demo_file(&settings)?;
    }
    // What is wrong with the file is said first (it is what the user came to fix).
    let mut store = cli::open_store(&settings, global.read_only)?;
    check_terminal(&settings)?;
    if global.demo && store.is_empty()? {
        // An existing but empty file (made by `init`, say) gets the demo data too.
        eprintln!("loading the demo data into {}…", store.path().display());
        crate::demo::load(&mut store, false)?;
    }
    let size = ratatui::crossterm::terminal::size().unwrap_or((80, 24));
    let mut app = App::new(
        store,
        AppOptions {
            read_only: global.read_only,
            demo: global.demo,
            redact: false,
            theme: theme::Theme::from_settings(&settings),
            keymap,
            size,
            background_writes: true,
            seed: settings.seed,
        },
    )?;
    if global.demo {
        app.start_demo_simulator()?;
        app.switch_tab(Tab::Feed)?;
    }
    term::run(app, global.mouse)
}

/// The screen needs a terminal that can draw it: refused before anything else with
/// what to do instead.
fn check_terminal(settings: &Settings) -> Result<(), TuiError> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(TuiError::NoTerminal(
            "the screen needs a terminal, and standard input or output is not one; for scripts use a subcommand (see `switchboard --help`)".into(),
        ));
    }
    if settings.term.as_deref() == Some("dumb") {
        return Err(TuiError::NoTerminal(
            "TERM=dumb cannot draw the screen (no cursor movement); set TERM to your terminal's type, e.g. TERM=xterm-256color, or use a subcommand".into(),
        ));
    }
    Ok(())
}

/// Creates the demo file when it is missing: loaded under a temporary name and renamed
/// when complete, so an interrupted load never leaves a half-filled demo behind.
fn create_demo_file(settings: &Settings) -> Result<(), TuiError> {
    let path = settings.db.clone();
    if path.exists() {
        return Ok(());
    }
    let mut loading = path.clone().into_os_string();
    loading.push(".loading");
    let loading = PathBuf::from(loading);
    // The files of an interrupted load, and the companions a complete one leaves
    // (writers keep -wal and -shm, emptied, for readers).
    let remove_loading = |suffixes: &[&str]| {
        for suffix in suffixes {
            let mut p = loading.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    };
    remove_loading(&["", "-wal", "-shm", "-turn"]);
    eprintln!("creating {} from the demo data…", path.display());
    {
        let mut partial = settings.clone();
        partial.db = loading.clone();
        // Never --read-only here: `run` refuses it with --demo.
        let mut store = cli::open_store(&partial, false)?;
        crate::demo::load(&mut store, false)?;
        // Dropped here: the last connection checkpoints the WAL into the file.
    }
    std::fs::rename(&loading, &path)?;
    remove_loading(&["-wal", "-shm", "-turn"]);
    Ok(())
}
