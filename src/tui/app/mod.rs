//! The App model and `update`: every key becomes an [`Action`], every action goes
//! through `update`, and every change goes through the store. The model only mirrors
//! what the file holds; after each write, and whenever another process commits, the
//! visible parts are read again.
//!
//! The tabs (`tui/tabs/`) and dialogs (`tui/overlays/`) keep their own state and
//! handle their own keys; what they ask of the App comes back as data
//! ([`Out`], [`Report`]) and is applied here. `keys.rs` turns a key into an action,
//! `dialogs.rs` runs the dialogs' outcomes, `reading.rs` reads the file
//! (after a write, on another process's commit, on a tick), `writes.rs` runs writes
//! and applies their reports, `simulator.rs` runs the simulators.

mod dialogs;
mod keys;
mod reading;
mod simulator;
mod writes;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use ratatui::layout::Rect;

use crate::sim::{Progress, Report as SimReport};
use crate::store::{ChangeWatcher, Store, StoreError};

use super::action::{Action, Command};
use super::effect::{Out, Written};
use super::keymap::Keymap;
use super::layout;
use super::model::{FilterEdit, Message, Tab, TextFilter};
use super::overlays::Dialog;
use super::overlays::help::HelpView;
use super::tabs::feed::state::FeedState;
use super::tabs::operators::OperatorsTab;
use super::tabs::sources::SourcesTab;
use super::tabs::weights::WeightsTab;
use super::theme::Theme;
use super::writer::{Pending as PendingWrite, Writer};

/// A simulation running on its own thread with its own connection.
pub struct SimRun {
    pub progress: Arc<Progress>,
    pub handle: Option<JoinHandle<Result<SimReport, StoreError>>>,
    pub count: u64,
    pub demo: bool,
    seen: u64,
}

/// The demo's operators at work: every couple of seconds the oldest open contact is
/// closed (through the store, as actor `demo`), so capacity frees up and the backlog
/// moves while the demo simulator keeps contacts coming.
struct DemoWork {
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// How the App starts.
pub struct AppOptions {
    pub read_only: bool,
    pub demo: bool,
    /// Show times and the file's path as fixed placeholders (snapshot tests).
    pub redact: bool,
    pub theme: Theme,
    pub keymap: Keymap,
    /// The terminal size at start.
    pub size: (u16, u16),
    /// Writes run on a thread of their own (the real TUI), so a locked file never
    /// blocks keys; off, they run inline on the App's store (tests, embedding).
    pub background_writes: bool,
    /// Seeds the random draws of the App's writes and simulators (`SWITCHBOARD_SEED`).
    pub seed: Option<u64>,
}

impl AppOptions {
    /// Defaults for tests and embedding: colour off, default keys, 80x24.
    pub fn for_tests() -> Result<AppOptions, super::keymap::KeymapError> {
        Ok(AppOptions {
            read_only: false,
            demo: false,
            redact: true,
            theme: Theme::plain(),
            keymap: Keymap::defaults()?,
            size: (80, 24),
            background_writes: false,
            seed: None,
        })
    }
}

pub struct App {
    // Dropped before the store: the last connection to close checkpoints the WAL and
    // removes it, which a read-only connection cannot do.
    watcher: Option<ChangeWatcher>,
    pub(crate) store: Store,
    pub(crate) keymap: Keymap,
    pub(crate) theme: Theme,
    pub(crate) read_only: bool,
    pub(crate) demo: bool,
    pub(crate) redact: bool,
    pub(crate) area: Rect,
    pub(crate) tab: Tab,
    pub(crate) operators: OperatorsTab,
    pub(crate) sources: SourcesTab,
    pub(crate) weights: WeightsTab,
    pub(crate) feed: FeedState,
    pub(crate) dialog: Option<Dialog>,
    /// The help overlay, when open.
    pub(crate) help: Option<HelpView>,
    pub(crate) message: Option<Message>,
    pub(crate) last_refresh: Option<i64>,
    pub(crate) sim: Option<SimRun>,
    demo_work: Option<DemoWork>,
    seed: Option<u64>,
    /// Where writes run when they run in the background.
    writer: Option<Writer<Written>>,
    /// The write on its way, if any.
    pub(crate) pending: Option<PendingWrite>,
    /// The file holds no operators, sources or contacts.
    pub(crate) empty: bool,
    dirty: bool,
    quit: bool,
}

/// A command's context from the App's fields, borrowed apart from the tab's state.
macro_rules! cx {
    ($app:ident) => {
        $crate::tui::effect::Cx {
            store: &mut $app.store,
            keymap: &$app.keymap,
            area: $app.area,
        }
    };
}
pub(crate) use cx;

impl App {
    /// Builds the App on an open store and reads the first tab.
    pub fn new(store: Store, options: AppOptions) -> Result<App, StoreError> {
        let watcher = store.watcher()?;
        // A user who may only read the file gets the read-only TUI: every editing key
        // says so instead of failing on the first write.
        let read_only = options.read_only || !store.can_write();
        let writer = if options.background_writes && !read_only {
            let mut session = store.session(None)?;
            if let Some(seed) = options.seed {
                session.reseed(seed);
            }
            Some(Writer::start(session)?)
        } else {
            None
        };
        let mut app = App {
            store,
            watcher: Some(watcher),
            keymap: options.keymap,
            theme: options.theme,
            read_only,
            demo: options.demo,
            redact: options.redact,
            area: Rect::new(0, 0, options.size.0, options.size.1),
            tab: Tab::Operators,
            operators: OperatorsTab::default(),
            sources: SourcesTab::default(),
            weights: WeightsTab::default(),
            feed: FeedState::default(),
            dialog: None,
            help: None,
            message: None,
            last_refresh: None,
            sim: None,
            demo_work: None,
            seed: options.seed,
            writer,
            pending: None,
            empty: false,
            dirty: true,
            quit: false,
        };
        app.refresh()?;
        Ok(app)
    }

    /// The file as the status bar names it.
    pub(crate) fn file_label(&self) -> String {
        if self.redact {
            "[file]".into()
        } else {
            self.store.path().display().to_string()
        }
    }

    /// A point in time as shown on screen: `HH:MM:SS` today, else `DD.MM HH:MM`. The
    /// one place times are formatted, so tests can redact them.
    pub(crate) fn time(&self, ms: i64) -> String {
        use chrono::{Local, TimeZone};
        if self.redact {
            return "--:--:--".into();
        }
        match Local.timestamp_millis_opt(ms).single() {
            Some(t) if t.date_naive() == Local::now().date_naive() => {
                t.format("%H:%M:%S").to_string()
            }
            Some(t) => t.format("%d.%m %H:%M").to_string(),
            None => "?".into(),
        }
    }

    // ----- what the event loop and tests use -----

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// True once after anything visible changed; the loop draws only then.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub fn tab(&self) -> Tab {
        self.tab
    }

    pub fn message(&self) -> Option<&Message> {
        self.message.as_ref()
    }

    pub fn has_dialog(&self) -> bool {
        self.dialog.is_some()
    }

    pub fn store(&mut self) -> &mut Store {
        &mut self.store
    }

    /// Ids of the feed's visible rows, in the order shown.
    pub fn feed_ids(&self) -> Vec<i64> {
        self.feed.rows.iter().map(|c| c.id).collect()
    }

    pub fn feed_new_above(&self) -> usize {
        self.feed.new_above
    }

    pub fn selected_contact_id(&self) -> Option<i64> {
        self.feed.selected().map(|c| c.id)
    }

    /// The operator under the cursor of the open assign picker.
    pub fn picker_operator(&self) -> Option<&str> {
        match &self.dialog {
            Some(Dialog::Assign(p)) => p.rows.get(p.sel.cursor).map(|r| r.name.as_str()),
            _ => None,
        }
    }

    /// The feed's selected contact when it is no longer in view.
    pub fn selection_out_of_view(&self) -> Option<i64> {
        self.feed.selection_out_of_view()
    }

    /// Whether the feed follows new contacts.
    pub fn feed_following(&self) -> bool {
        self.feed.following()
    }

    pub fn selected_operator_id(&self) -> Option<i64> {
        self.operators.sel.id
    }

    pub fn selected_source_id(&self) -> Option<i64> {
        self.sources.sel.id
    }

    pub fn simulating(&self) -> bool {
        self.sim.is_some()
    }

    /// Whether a write is on its way.
    pub fn writing(&self) -> bool {
        self.pending.is_some()
    }

    /// Woken whenever a background write finished (the event loop waits on it).
    pub fn write_wakeup(&self) -> Option<Arc<tokio::sync::Notify>> {
        self.writer.as_ref().map(Writer::wake)
    }

    pub(crate) fn current_filter(&self) -> &TextFilter {
        match self.tab {
            Tab::Operators => &self.operators.filter,
            Tab::Sources => &self.sources.filter,
            Tab::Weights => &self.weights.filter,
            Tab::Feed => &self.feed.search,
        }
    }

    fn current_filter_mut(&mut self) -> &mut TextFilter {
        match self.tab {
            Tab::Operators => &mut self.operators.filter,
            Tab::Sources => &mut self.sources.filter,
            Tab::Weights => &mut self.weights.filter,
            Tab::Feed => &mut self.feed.search,
        }
    }

    // ----- update -----

    pub fn update(&mut self, action: Action) {
        match action {
            Action::Tick => {
                self.poll_writes();
                if self.pending.is_some() {
                    // The status bar counts the seconds it waits.
                    self.dirty = true;
                }
                self.tick()
            }
            Action::WriteDone => self.poll_writes(),
            Action::Resize(w, h) => {
                self.area = Rect::new(0, 0, w, h);
                self.dirty = true;
                self.weights.fit(self.area);
                // A taller feed shows more rows.
                if self.tab == Tab::Feed
                    && let Err(e) = self.load_tab()
                {
                    self.error(e.to_string());
                }
            }
            Action::Input(_) | Action::Backspace | Action::Command(_) => {
                self.message = None;
                self.dirty = true;
                let result = self.dispatch(action);
                if let Err(e) = result {
                    self.error(e.to_string());
                    // The file may hold something else than we thought: show it.
                    let _ = self.refresh();
                }
            }
        }
    }

    pub(crate) fn info(&mut self, text: impl Into<String>) {
        self.show(Message::info(text));
    }

    pub(crate) fn error(&mut self, text: impl Into<String>) {
        self.show(Message::error(text));
    }

    fn show(&mut self, message: Message) {
        self.message = Some(message);
        self.dirty = true;
    }

    fn refuse_read_only(&mut self) {
        self.error(if self.store.is_read_only() || self.store.can_write() {
            "read-only: editing is disabled (started with --read-only)"
        } else {
            "read-only: you may not write this file, so editing is disabled (see switchboard check)"
        });
    }

    fn dispatch(&mut self, action: Action) -> Result<(), StoreError> {
        if action == Action::Command(Command::Quit) {
            return self.quit_key();
        }
        if let Some(help) = &mut self.help {
            if !help.handle(&action) {
                self.help = None;
            }
            return Ok(());
        }
        if self.dialog.is_some() {
            return self.dialog_action(action);
        }
        if self.current_filter().editing {
            return self.filter_action(action);
        }
        if self.tab == Tab::Weights
            && let Some(out) = self.weights.edit_action(&action, &self.keymap)
        {
            return self.apply(out);
        }
        match action {
            Action::Command(Command::Back) if self.pending.is_some() => {
                self.cancel_write();
                Ok(())
            }
            Action::Command(cmd) => {
                if cmd.edits() && self.read_only {
                    self.refuse_read_only();
                    return Ok(());
                }
                if cmd.edits()
                    && cmd != Command::Simulate
                    && let Some(p) = &self.pending
                {
                    let what = p.what.clone();
                    self.error(format!(
                        "still waiting for the file: {what} (Esc cancels it)"
                    ));
                    return Ok(());
                }
                if self.global_command(cmd)? {
                    return Ok(());
                }
                self.tab_command(cmd)
            }
            _ => Ok(()),
        }
    }

    /// The current tab's command, and what it asks of the App.
    fn tab_command(&mut self, cmd: Command) -> Result<(), StoreError> {
        let mut cx = cx!(self);
        let out = match self.tab {
            Tab::Operators => self.operators.command(cmd, &mut cx),
            Tab::Sources => self.sources.command(cmd, &mut cx),
            Tab::Weights => self.weights.command(cmd, &mut cx),
            Tab::Feed => self.feed.command(cmd, &mut cx),
        }?;
        self.apply(out)
    }

    /// Carries out what a command asked for.
    pub(crate) fn apply(&mut self, out: Out) -> Result<(), StoreError> {
        if let Some(m) = out.message {
            self.show(m);
        }
        if let Some(d) = out.open {
            self.dialog = Some(d);
        }
        match out.write {
            Some(w) => self.write(w),
            None => Ok(()),
        }
    }

    /// q: quits, but asks first while a simulator runs.
    fn quit_key(&mut self) -> Result<(), StoreError> {
        let asking = matches!(
            &self.dialog,
            Some(Dialog::Confirm(c)) if c.pending == super::overlays::confirm::Pending::Quit
        );
        // A running simulator stops with the App: asked first (y or Enter quits, and
        // so does Ctrl-C), unless there is no room to ask.
        if !asking
            && !layout::too_small(self.area)
            && let Some(question) = self.quit_question()
        {
            self.help = None;
            self.dialog = Some(Dialog::Confirm(question));
            return Ok(());
        }
        self.quit();
        Ok(())
    }

    fn quit(&mut self) {
        if let Some(sim) = &self.sim {
            sim.progress.cancel.store(true, Ordering::Relaxed);
        }
        if let Some(work) = &self.demo_work {
            work.cancel.store(true, Ordering::Relaxed);
        }
        self.quit = true;
    }

    /// Commands that mean the same on every tab. True if handled.
    fn global_command(&mut self, cmd: Command) -> Result<bool, StoreError> {
        let tab = match cmd {
            Command::Quit => {
                self.quit();
                return Ok(true);
            }
            Command::Help => {
                self.help = Some(HelpView::default());
                return Ok(true);
            }
            Command::Simulate => {
                self.simulate_key()?;
                return Ok(true);
            }
            Command::Audit => {
                let view = super::overlays::audit::AuditView::open(&mut self.store)?;
                self.dialog = Some(Dialog::Audit(view));
                return Ok(true);
            }
            Command::TabOperators => Tab::Operators,
            Command::TabSources => Tab::Sources,
            Command::TabWeights => Tab::Weights,
            Command::TabFeed => Tab::Feed,
            Command::NextTab => Tab::ALL[(self.tab.index() + 1) % 4],
            Command::PrevTab => Tab::ALL[(self.tab.index() + 3) % 4],
            Command::Filter => {
                self.current_filter_mut().editing = true;
                return Ok(true);
            }
            _ => return Ok(false),
        };
        self.switch_tab(tab)?;
        Ok(true)
    }

    pub fn switch_tab(&mut self, tab: Tab) -> Result<(), StoreError> {
        if let Some(typed) = self.weights.drop_edit() {
            self.info(format!("typed {typed} not saved"));
        }
        self.tab = tab;
        self.dirty = true;
        self.refresh()
    }

    /// Typing into the current table's `/` filter.
    fn filter_action(&mut self, action: Action) -> Result<(), StoreError> {
        match self.current_filter_mut().edit(&action) {
            FilterEdit::Ignored => {
                return match action {
                    // The rows can be moved through while typing.
                    Action::Command(
                        cmd @ (Command::Up | Command::Down | Command::PageUp | Command::PageDown),
                    ) => self.tab_command(cmd),
                    _ => Ok(()),
                };
            }
            FilterEdit::Typed | FilterEdit::Kept | FilterEdit::Cleared => {}
        }
        if self.tab == Tab::Feed {
            // The feed searches the file, so only a finished text (Enter) or a cleared
            // one (Esc) reads it again; the tables filter what they hold, live.
            if self.feed.search.editing || self.feed.searched == self.feed.search.text {
                return Ok(());
            }
            self.feed.searched = self.feed.search.text.clone();
            self.feed.reset_position();
        }
        self.load_tab()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop_simulator();
    }
}
