//! The App model and `update`: every key becomes an [`Action`], every action goes
//! through `update`, and every change goes through the store. The model only mirrors
//! what the file holds; after each write, and whenever another process commits, the
//! visible parts are read again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use ratatui::layout::Rect;

use crate::domain::{ContactStatus, EntityRef, MAX_DESCRIPTION, MAX_ENTITY_NAME, Strategy};
use crate::routing::{Candidate, Ineligible};
use crate::sim::{self, Plan, Progress, Report, SourceMix};
use crate::store::{
    ChangeWatcher, FeedFilter, Operator, OperatorPatch, Outcome, Seen, Source, SourcePatch,
    SourceStats, Store, StoreError, now_ms,
};

use super::action::{Action, Command};
use super::dialog::{
    AssignPicker, AuditView, Confirm, Dialog, Field, FieldKind, FilterPicker, Form, FormKind,
    LeadCard, Pending, PickRow, contact_subject,
};
use super::feed::FeedState;
use super::keymap::{Context, Key, Keymap};
use super::theme::Theme;
use super::views::layout;
use super::writer::{Done, Pending as PendingWrite, Writer};

/// The four tabs, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Operators,
    Sources,
    Weights,
    Feed,
}

impl Tab {
    pub const ALL: [Tab; 4] = [Tab::Operators, Tab::Sources, Tab::Weights, Tab::Feed];

    pub fn index(self) -> usize {
        match self {
            Tab::Operators => 0,
            Tab::Sources => 1,
            Tab::Weights => 2,
            Tab::Feed => 3,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Tab::Operators => "Operators",
            Tab::Sources => "Sources",
            Tab::Weights => "Weights",
            Tab::Feed => "Feed",
        }
    }

    pub fn context(self) -> Context {
        match self {
            Tab::Operators => Context::Operators,
            Tab::Sources => Context::Sources,
            Tab::Weights => Context::Weights,
            Tab::Feed => Context::Feed,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub text: String,
    pub kind: MessageKind,
}

/// A selection in a list, tracked by the id of the selected item so that it stays on
/// the same item when rows come and go.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub cursor: usize,
    pub offset: usize,
    pub id: Option<i64>,
}

impl Selection {
    /// After the rows changed: back on the same id if it is still there, else the same
    /// position (clamped).
    pub fn sync(&mut self, ids: &[i64]) {
        if let Some(id) = self.id
            && let Some(i) = ids.iter().position(|x| *x == id)
        {
            self.cursor = i;
        }
        self.cursor = self.cursor.min(ids.len().saturating_sub(1));
        self.id = ids.get(self.cursor).copied();
    }

    pub fn set(&mut self, i: usize, ids: &[i64]) {
        self.cursor = i.min(ids.len().saturating_sub(1));
        self.id = ids.get(self.cursor).copied();
    }

    /// Keeps the cursor inside a window of `page` rows.
    pub fn scroll(&mut self, page: usize) {
        self.offset = visible_offset(self.cursor, self.offset, page);
    }

    pub fn step(&mut self, delta: isize, ids: &[i64]) {
        let i = (self.cursor as isize + delta).max(0) as usize;
        self.set(i, ids);
    }

    /// Moves by one command; false if the command is not a movement.
    pub fn navigate(&mut self, cmd: Command, page: usize, ids: &[i64]) -> bool {
        let page = page.max(1) as isize;
        match cmd {
            Command::Up => self.step(-1, ids),
            Command::Down => self.step(1, ids),
            Command::PageUp => self.step(-page, ids),
            Command::PageDown => self.step(page, ids),
            Command::First => self.set(0, ids),
            Command::Last => self.set(ids.len().saturating_sub(1), ids),
            _ => return false,
        }
        self.scroll(page as usize);
        true
    }
}

/// The first visible row for `cursor`, keeping `offset` where it can.
pub fn visible_offset(cursor: usize, offset: usize, page: usize) -> usize {
    if page == 0 || cursor < offset {
        cursor
    } else if cursor >= offset + page {
        cursor + 1 - page
    } else {
        offset
    }
}

/// Text typed after `/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TextFilter {
    pub text: String,
    /// Keys are being typed into it.
    pub editing: bool,
}

impl TextFilter {
    pub fn matches(&self, haystack: &[&str]) -> bool {
        let needle = self.text.trim().to_lowercase();
        needle.is_empty() || haystack.iter().any(|h| h.to_lowercase().contains(&needle))
    }

    pub fn is_shown(&self) -> bool {
        self.editing || !self.text.is_empty()
    }
}

#[derive(Debug, Default)]
pub struct OperatorsTab {
    pub all: Vec<Operator>,
    pub rows: Vec<Operator>,
    pub sel: Selection,
    pub filter: TextFilter,
    pub detail_open: bool,
    pub detail: Option<OperatorDetail>,
}

#[derive(Debug, Clone)]
pub struct OperatorDetail {
    pub operator_id: i64,
    /// (source, weight, share of the source's weights)
    pub weights: Vec<(String, u32, f64)>,
    pub open: Vec<crate::store::Contact>,
}

#[derive(Debug, Default)]
pub struct SourcesTab {
    pub all: Vec<Source>,
    pub rows: Vec<Source>,
    pub sel: Selection,
    pub filter: TextFilter,
    /// Configured against actual share of the selected source's last 200 contacts.
    pub chart: Option<SourceStats>,
}

#[derive(Debug, Default)]
pub struct WeightsTab {
    pub operators: Vec<Operator>,
    pub sources: Vec<Source>,
    /// (operator id, source id) -> weight; absent means 0.
    pub cells: HashMap<(i64, i64), u32>,
    /// Sum of the weights of each source.
    pub totals: HashMap<i64, u64>,
    pub row: Selection,
    pub col: Selection,
    pub col_offset: usize,
    /// Digits typed into the selected cell, set with Enter.
    pub input: String,
    pub filter: TextFilter,
}

impl WeightsTab {
    pub fn weight(&self, op: i64, src: i64) -> u32 {
        self.cells.get(&(op, src)).copied().unwrap_or(0)
    }

    /// The operator's share of the source's configured weights, 0..=1.
    pub fn share(&self, op: i64, src: i64) -> f64 {
        let total = self.totals.get(&src).copied().unwrap_or(0);
        if total == 0 {
            0.0
        } else {
            f64::from(self.weight(op, src)) / total as f64
        }
    }
}

/// A simulation running on its own thread with its own connection.
pub struct SimRun {
    pub progress: Arc<Progress>,
    pub handle: Option<JoinHandle<Result<Report, StoreError>>>,
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
    /// The help overlay is open, scrolled this far.
    pub(crate) help: Option<usize>,
    pub(crate) message: Option<Message>,
    pub(crate) last_refresh: Option<i64>,
    pub(crate) sim: Option<SimRun>,
    demo_work: Option<DemoWork>,
    seed: Option<u64>,
    /// Where writes run when they run in the background.
    writer: Option<Writer>,
    /// The write on its way, if any.
    pub(crate) pending: Option<PendingWrite>,
    /// The file holds no operators, sources or contacts.
    pub(crate) empty: bool,
    dirty: bool,
    quit: bool,
}

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

    /// Ids of the feed's visible rows, newest first.
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

    /// Starts the demo's slow simulator (a contact every ~1.5 s) and its operators
    /// closing a contact every ~2 s, so the feed moves and operators fill up.
    pub fn start_demo_simulator(&mut self) -> Result<(), StoreError> {
        let mix = SourceMix::resolve(&mut self.store, &[])?;
        let plan = Plan {
            count: 1_000_000,
            rate: Some(0.7),
            mix,
            repeat: 0.25,
            seed: None,
        };
        self.spawn_simulator(plan, true)?;
        let mut store = self.store.session(Some("demo"))?;
        if let Some(seed) = self.seed {
            store.reseed(seed);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Arc::clone(&cancel);
        let handle = std::thread::Builder::new()
            .name("demo operators".into())
            .spawn(move || {
                let open = FeedFilter {
                    status: Some(ContactStatus::Active),
                    ..FeedFilter::default()
                };
                while !stop.load(Ordering::Relaxed) {
                    for _ in 0..40 {
                        if stop.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    // The oldest open contact is done. A failure (a busy file) just
                    // skips a turn.
                    if let Ok(rows) = store.contacts(&open, None, 1000)
                        && let Some(oldest) = rows.last()
                    {
                        let _ = store.close_contact(oldest.id);
                    }
                }
            })
            .map_err(|e| StoreError::Io(format!("cannot start the demo: {e}")))?;
        self.demo_work = Some(DemoWork {
            cancel,
            handle: Some(handle),
        });
        Ok(())
    }

    /// Feeds one key event (presses only) through the keymap into `update`.
    pub fn handle_key(&mut self, event: KeyEvent) {
        if event.kind != KeyEventKind::Press {
            return;
        }
        if let Some(action) = self.action_for(Key::from_event(&event)) {
            self.update(action);
        }
    }

    /// What a key means right now: dialogs and text entry first, then the view, the
    /// navigation keys and the global keys.
    pub fn action_for(&self, key: Key) -> Option<Action> {
        let plain_char = match key.code {
            KeyCode::Char(c) if key.mods.is_empty() => Some(c),
            _ => None,
        };
        let global_quit = || {
            (plain_char.is_none()
                && self.keymap.lookup(&[Context::Global], key) == Some(Command::Quit))
            .then_some(Action::Command(Command::Quit))
        };
        if layout::too_small(self.area) {
            return (self.keymap.lookup(&[Context::Global], key) == Some(Command::Quit))
                .then_some(Action::Command(Command::Quit));
        }
        if self.help.is_some() {
            return self
                .keymap
                .lookup(&[Context::Navigation, Context::Global], key)
                .map(Action::Command);
        }
        let text_entry = match &self.dialog {
            Some(d) => d.takes_text(),
            None => self.current_filter().is_some_and(|f| f.editing),
        };
        if text_entry {
            if let Some(c) = plain_char {
                return Some(Action::Input(c));
            }
            if key.code == KeyCode::Backspace {
                return Some(Action::Backspace);
            }
        }
        if self.dialog.is_some() || text_entry {
            return self
                .keymap
                .lookup(&[Context::Dialog, Context::Navigation], key)
                .map(Action::Command)
                .or_else(global_quit);
        }
        // Read-only, nothing can be typed into a cell, so the digits switch tabs again.
        if self.tab == Tab::Weights && !self.read_only {
            if let Some(c) = plain_char.filter(char::is_ascii_digit) {
                return Some(Action::Input(c));
            }
            if key.code == KeyCode::Backspace && !self.weights.input.is_empty() {
                return Some(Action::Backspace);
            }
        }
        self.keymap
            .lookup(
                &[self.tab.context(), Context::Navigation, Context::Global],
                key,
            )
            .map(Action::Command)
    }

    fn current_filter(&self) -> Option<&TextFilter> {
        match self.tab {
            Tab::Operators => Some(&self.operators.filter),
            Tab::Sources => Some(&self.sources.filter),
            Tab::Weights => Some(&self.weights.filter),
            Tab::Feed => Some(&self.feed.search),
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
                // A taller feed shows more rows.
                if self.tab == Tab::Feed {
                    self.report(|app| app.load_tab());
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

    fn report(&mut self, f: impl FnOnce(&mut App) -> Result<(), StoreError>) {
        if let Err(e) = f(self) {
            self.error(e.to_string());
        }
    }

    pub(crate) fn info(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            kind: MessageKind::Info,
        });
        self.dirty = true;
    }

    pub(crate) fn error(&mut self, text: impl Into<String>) {
        self.message = Some(Message {
            text: text.into(),
            kind: MessageKind::Error,
        });
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
            let asking = matches!(
                &self.dialog,
                Some(Dialog::Confirm(Confirm {
                    pending: Pending::Quit,
                    ..
                }))
            );
            // A running simulator stops with the App: asked first (y or Enter quits,
            // and so does Ctrl-C), unless there is no room to ask.
            if let Some(sim) = &self.sim
                && !asking
                && !layout::too_small(self.area)
            {
                let sent = sim.progress.sent.load(Ordering::Relaxed);
                let what = if sim.demo {
                    "The demo's simulator stops.".to_string()
                } else {
                    format!("The simulator stops ({sent} of {} sent).", sim.count)
                };
                self.help = None;
                self.dialog = Some(Dialog::Confirm(Confirm {
                    title: "Quit".into(),
                    lines: vec![
                        "Quit switchboard?".into(),
                        what,
                        "Every contact it sent stays in the file.".into(),
                    ],
                    yes: "quit".into(),
                    pending: Pending::Quit,
                }));
                return Ok(());
            }
            self.quit();
            return Ok(());
        }
        if let Some(scroll) = self.help {
            if let Action::Command(cmd) = action {
                match cmd {
                    Command::Quit => self.quit(),
                    Command::Help | Command::Back => self.help = None,
                    Command::Down => self.help = Some(scroll + 1),
                    Command::Up => self.help = Some(scroll.saturating_sub(1)),
                    Command::PageDown => self.help = Some(scroll + 10),
                    Command::PageUp => self.help = Some(scroll.saturating_sub(10)),
                    Command::First => self.help = Some(0),
                    _ => {}
                }
            }
            return Ok(());
        }
        if let Some(dialog) = self.dialog.take() {
            return self.dialog_action(dialog, action);
        }
        if self.current_filter().is_some_and(|f| f.editing) {
            return self.filter_action(action);
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
                match self.tab {
                    Tab::Operators => self.operators_command(cmd),
                    Tab::Sources => self.sources_command(cmd),
                    Tab::Weights => self.weights_command(cmd),
                    Tab::Feed => self.feed_command(cmd),
                }
            }
            Action::Input(c) if self.tab == Tab::Weights => {
                if self.read_only {
                    self.refuse_read_only();
                } else if self.weights.input.len() < 7 {
                    self.weights.input.push(c);
                }
                Ok(())
            }
            Action::Backspace if self.tab == Tab::Weights => {
                self.weights.input.pop();
                Ok(())
            }
            _ => Ok(()),
        }
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
                self.help = Some(0);
                return Ok(true);
            }
            Command::Simulate => {
                self.simulate_key()?;
                return Ok(true);
            }
            Command::Audit => {
                self.open_audit()?;
                return Ok(true);
            }
            Command::TabOperators => Tab::Operators,
            Command::TabSources => Tab::Sources,
            Command::TabWeights => Tab::Weights,
            Command::TabFeed => Tab::Feed,
            Command::NextTab => Tab::ALL[(self.tab.index() + 1) % 4],
            Command::PrevTab => Tab::ALL[(self.tab.index() + 3) % 4],
            Command::Filter => {
                let f = self.current_filter_mut();
                f.editing = true;
                return Ok(true);
            }
            _ => return Ok(false),
        };
        self.switch_tab(tab)?;
        Ok(true)
    }

    pub fn switch_tab(&mut self, tab: Tab) -> Result<(), StoreError> {
        self.weights.input.clear();
        self.tab = tab;
        self.dirty = true;
        self.refresh()
    }

    /// Typing into the current table's `/` filter.
    fn filter_action(&mut self, action: Action) -> Result<(), StoreError> {
        let filter = self.current_filter_mut();
        match action {
            Action::Input(c) => {
                if filter.text.chars().count() < 100 {
                    filter.text.push(c);
                }
            }
            Action::Backspace => {
                filter.text.pop();
            }
            Action::Command(Command::Confirm) => filter.editing = false,
            Action::Command(Command::Back) => {
                *filter = TextFilter::default();
            }
            Action::Command(
                cmd @ (Command::Up | Command::Down | Command::PageUp | Command::PageDown),
            ) => {
                return match self.tab {
                    Tab::Operators => self.operators_command(cmd),
                    Tab::Sources => self.sources_command(cmd),
                    Tab::Weights => self.weights_command(cmd),
                    Tab::Feed => self.feed_command(cmd),
                };
            }
            _ => return Ok(()),
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

    // ----- reading the file -----

    /// Reads what the current tab (and any open dialog) shows.
    pub fn refresh(&mut self) -> Result<(), StoreError> {
        self.empty = self.store.is_empty()?;
        self.feed.waiting = self.store.waiting_count()?;
        self.load_tab()?;
        // Open dialogs stay open; the two that show live data read it again.
        match self.dialog.take() {
            Some(Dialog::Audit(mut view)) => {
                let result = self.load_audit(&mut view, false);
                self.dialog = Some(Dialog::Audit(view));
                result?;
            }
            Some(Dialog::Assign(mut picker)) => {
                let result = self.pick_rows(&picker.sources, picker.contacts.len());
                if let Ok(rows) = &result {
                    let ids: Vec<i64> = rows.iter().map(|r| r.operator_id).collect();
                    picker.rows = rows.clone();
                    picker.sel.sync(&ids);
                }
                self.dialog = Some(Dialog::Assign(picker));
                result?;
            }
            other => self.dialog = other,
        }
        self.last_refresh = Some(now_ms());
        self.dirty = true;
        Ok(())
    }

    fn load_tab(&mut self) -> Result<(), StoreError> {
        match self.tab {
            Tab::Operators => self.load_operators(),
            Tab::Sources => self.load_sources(),
            Tab::Weights => self.load_weights(),
            Tab::Feed => {
                let page = self.feed_page();
                self.feed.reload(&mut self.store, page)
            }
        }
    }

    fn load_operators(&mut self) -> Result<(), StoreError> {
        let t = &mut self.operators;
        t.all = self.store.operators()?;
        t.rows = t
            .all
            .iter()
            .filter(|o| t.filter.matches(&[&o.name]))
            .cloned()
            .collect();
        let ids: Vec<i64> = t.rows.iter().map(|o| o.id).collect();
        t.sel.sync(&ids);
        self.load_operator_detail()
    }

    fn load_operator_detail(&mut self) -> Result<(), StoreError> {
        let selected = self.operators.sel.id;
        match (self.operators.detail_open, selected) {
            (true, Some(id)) => {
                let all = self.store.weights()?;
                let mut totals: HashMap<i64, u64> = HashMap::new();
                for w in &all {
                    *totals.entry(w.source_id).or_default() += u64::from(w.weight);
                }
                let weights = all
                    .iter()
                    .filter(|w| w.operator_id == id)
                    .map(|w| {
                        let total = totals.get(&w.source_id).copied().unwrap_or(0).max(1);
                        (
                            w.source.clone(),
                            w.weight,
                            f64::from(w.weight) / total as f64,
                        )
                    })
                    .collect();
                let open = self.store.open_contacts(id, 100)?;
                self.operators.detail = Some(OperatorDetail {
                    operator_id: id,
                    weights,
                    open,
                });
            }
            _ => self.operators.detail = None,
        }
        Ok(())
    }

    fn load_sources(&mut self) -> Result<(), StoreError> {
        let t = &mut self.sources;
        t.all = self.store.sources()?;
        t.rows = t
            .all
            .iter()
            .filter(|s| t.filter.matches(&[&s.name, &s.description]))
            .cloned()
            .collect();
        let ids: Vec<i64> = t.rows.iter().map(|s| s.id).collect();
        t.sel.sync(&ids);
        self.load_chart()
    }

    fn load_chart(&mut self) -> Result<(), StoreError> {
        self.sources.chart = match self.sources.sel.id {
            Some(id) => self.store.recent_shares(id, 200)?,
            None => None,
        };
        Ok(())
    }

    fn load_weights(&mut self) -> Result<(), StoreError> {
        let ops = self.store.operators()?;
        let sources = self.store.sources()?;
        let weights = self.store.weights()?;
        let t = &mut self.weights;
        t.operators = ops
            .into_iter()
            .filter(|o| t.filter.matches(&[&o.name]))
            .collect();
        t.sources = sources;
        t.cells.clear();
        t.totals.clear();
        for w in weights {
            t.cells.insert((w.operator_id, w.source_id), w.weight);
            *t.totals.entry(w.source_id).or_default() += u64::from(w.weight);
        }
        let rows: Vec<i64> = t.operators.iter().map(|o| o.id).collect();
        let cols: Vec<i64> = t.sources.iter().map(|s| s.id).collect();
        t.row.sync(&rows);
        t.col.sync(&cols);
        Ok(())
    }

    /// Rows the feed shows at the current size.
    pub(crate) fn feed_page(&self) -> usize {
        layout::feed_page(self.area)
    }

    fn table_page(&self) -> usize {
        layout::table_page(self.area, self.tab, self)
    }

    // ----- ticks -----

    fn tick(&mut self) {
        let mut changed = match self.watcher.as_mut().map(ChangeWatcher::changed) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                self.error(format!("cannot watch the file: {e}"));
                false
            }
            None => false,
        };
        if let Some(sim) = &mut self.sim {
            let sent = sim.progress.sent.load(Ordering::Relaxed);
            if sent != sim.seen {
                sim.seen = sent;
                self.dirty = true;
            }
            if sim.handle.as_ref().is_some_and(JoinHandle::is_finished) {
                let demo = sim.demo;
                let outcome = sim.handle.take().map(JoinHandle::join);
                self.sim = None;
                changed = true;
                match outcome {
                    Some(Ok(Ok(report))) => {
                        let who = if demo { "demo simulator" } else { "simulator" };
                        self.info(format!("{who} done: {report}"));
                    }
                    Some(Ok(Err(e))) => self.error(format!("simulator stopped: {e}")),
                    _ => self.error("simulator stopped unexpectedly"),
                }
            }
        }
        if changed && let Err(e) = self.refresh() {
            self.error(e.to_string());
        }
        if self.feed.expire_fresh(Instant::now()) {
            self.dirty = true;
        }
    }

    // ----- Operators tab -----

    fn selected_operator(&self) -> Option<&Operator> {
        self.operators.rows.get(self.operators.sel.cursor)
    }

    fn operators_command(&mut self, cmd: Command) -> Result<(), StoreError> {
        let page = self.table_page();
        let ids: Vec<i64> = self.operators.rows.iter().map(|o| o.id).collect();
        if self.operators.sel.navigate(cmd, page, &ids) {
            return self.load_operator_detail();
        }
        let selected = self.selected_operator().cloned();
        match cmd {
            Command::Back => {
                if !self.operators.filter.text.is_empty() {
                    self.operators.filter = TextFilter::default();
                    self.load_operators()?;
                } else {
                    self.operators.detail_open = false;
                    self.operators.detail = None;
                }
            }
            Command::Open => {
                self.operators.detail_open = !self.operators.detail_open;
                self.load_operator_detail()?;
            }
            Command::Add => {
                self.dialog = Some(Dialog::Form(Form::new(
                    FormKind::AddOperator,
                    "Add operator",
                    vec![
                        Field::text("Name", "", MAX_ENTITY_NAME),
                        Field::number("Max load", "5", false),
                    ],
                )));
            }
            Command::Edit => {
                let Some(op) = selected else {
                    return self.nothing_selected("operator");
                };
                self.dialog = Some(Dialog::Form(Form::new(
                    FormKind::EditOperator(op.id),
                    format!("Edit operator '{}'", op.name),
                    vec![
                        Field::text("Name", &op.name, MAX_ENTITY_NAME),
                        Field::number("Max load", &op.max_load.to_string(), false),
                    ],
                )));
            }
            Command::ToggleActive => {
                let Some(op) = selected else {
                    return self.nothing_selected("operator");
                };
                self.write(format!("saving operator '{}'", op.name), move |store| {
                    let result = store.change_operator_seen(
                        &EntityRef::Id(op.id),
                        &OperatorPatch {
                            active: Some(!op.active),
                            ..Default::default()
                        },
                        &OperatorPatch {
                            active: Some(op.active),
                            ..Default::default()
                        },
                    );
                    then(move |app| {
                        let change = result?;
                        app.refresh()?;
                        let after = &change.operator;
                        app.info(format!(
                            "'{}' is now {}{}",
                            after.name,
                            if after.active { "active" } else { "inactive" },
                            routed_note(change.routed)
                        ));
                        Ok(())
                    })
                })?;
            }
            Command::Increase | Command::Decrease => {
                let Some(op) = selected else {
                    return self.nothing_selected("operator");
                };
                let max_load = if cmd == Command::Increase {
                    op.max_load.saturating_add(1)
                } else if op.max_load == 0 {
                    self.error(format!("'{}' already has max load 0", op.name));
                    return Ok(());
                } else {
                    op.max_load - 1
                };
                self.write(format!("saving operator '{}'", op.name), move |store| {
                    let result = store.change_operator_seen(
                        &EntityRef::Id(op.id),
                        &OperatorPatch {
                            max_load: Some(max_load),
                            ..Default::default()
                        },
                        &OperatorPatch {
                            max_load: Some(op.max_load),
                            ..Default::default()
                        },
                    );
                    then(move |app| {
                        let change = result?;
                        app.refresh()?;
                        let after = &change.operator;
                        app.info(format!(
                            "'{}' max load {} -> {}{}",
                            after.name,
                            op.max_load,
                            after.max_load,
                            routed_note(change.routed)
                        ));
                        Ok(())
                    })
                })?;
            }
            Command::Delete => {
                let Some(op) = selected else {
                    return self.nothing_selected("operator");
                };
                if op.load > 0 {
                    let toggle = self
                        .keymap
                        .first_key(Context::Operators, Command::ToggleActive)
                        .map(|k| format!(" ({k})"))
                        .unwrap_or_default();
                    self.error(format!(
                        "can't delete '{}': it holds {} open contact(s); deactivate it instead{toggle}",
                        op.name, op.load
                    ));
                    return Ok(());
                }
                let weights = match op.sources {
                    0 => "it has no weights".to_string(),
                    1 => "its weight in 1 source is removed".to_string(),
                    n => format!("its weights in {n} sources are removed"),
                };
                self.dialog = Some(Dialog::Confirm(Confirm {
                    title: "Delete operator".into(),
                    lines: vec![
                        format!("Delete operator '{}'?", op.name),
                        format!("It holds no open contacts; {weights}."),
                        "Its closed contacts stay in the history without an operator.".into(),
                    ],
                    yes: "delete".into(),
                    pending: Pending::DeleteOperator {
                        id: op.id,
                        name: op.name.clone(),
                    },
                }));
            }
            _ => {}
        }
        Ok(())
    }

    /// Runs a write: on the writer's thread when there is one (the App goes on taking
    /// keys, and `then` runs when it is done), else at once on the App's store.
    fn write(
        &mut self,
        what: impl Into<String>,
        job: impl FnOnce(&mut Store) -> Done + Send + 'static,
    ) -> Result<(), StoreError> {
        let Some(writer) = &self.writer else {
            let done = job(&mut self.store);
            return done(self);
        };
        if let Some(p) = &self.pending {
            self.error(format!(
                "still waiting for the file: {} (Esc cancels it)",
                p.what
            ));
            return Ok(());
        }
        writer.send(Box::new(job))?;
        self.pending = Some(PendingWrite {
            what: what.into(),
            since: Instant::now(),
        });
        self.dirty = true;
        Ok(())
    }

    /// Applies the writes that finished on the writer's thread.
    fn poll_writes(&mut self) {
        let Some(writer) = &self.writer else {
            return;
        };
        for done in writer.finished() {
            self.pending = None;
            self.dirty = true;
            if let Err(e) = done(self) {
                self.error(e.to_string());
                let _ = self.refresh();
            }
        }
    }

    /// Gives up the write that is waiting for the file.
    fn cancel_write(&mut self) {
        if let (Some(writer), Some(p)) = (&self.writer, &self.pending) {
            writer.cancel();
            let what = p.what.clone();
            self.info(format!("cancelling: {what}…"));
        }
    }

    /// Woken whenever a background write finished (the event loop waits on it).
    pub fn write_wakeup(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        self.writer.as_ref().map(Writer::wake)
    }

    /// Whether a write is on its way.
    pub fn writing(&self) -> bool {
        self.pending.is_some()
    }

    fn nothing_selected(&mut self, what: &str) -> Result<(), StoreError> {
        self.error(format!("no {what} selected"));
        Ok(())
    }

    // ----- Sources tab -----

    fn sources_command(&mut self, cmd: Command) -> Result<(), StoreError> {
        let page = self.table_page();
        let ids: Vec<i64> = self.sources.rows.iter().map(|s| s.id).collect();
        if self.sources.sel.navigate(cmd, page, &ids) {
            return self.load_chart();
        }
        let selected = self.sources.rows.get(self.sources.sel.cursor).cloned();
        match cmd {
            Command::Back if !self.sources.filter.text.is_empty() => {
                self.sources.filter = TextFilter::default();
                self.load_sources()?;
            }
            Command::Add => {
                self.dialog = Some(Dialog::Form(Form::new(
                    FormKind::AddSource,
                    "Add source",
                    vec![
                        Field::text("Name", "", MAX_ENTITY_NAME),
                        Field::text("Description", "", MAX_DESCRIPTION),
                        Field::choice(
                            "Strategy",
                            Strategy::ALL.iter().map(|s| s.to_string()).collect(),
                            0,
                        ),
                    ],
                )));
            }
            Command::Edit => {
                let Some(s) = selected else {
                    return self.nothing_selected("source");
                };
                let index = Strategy::ALL
                    .iter()
                    .position(|x| *x == s.strategy)
                    .unwrap_or(0);
                self.dialog = Some(Dialog::Form(Form::new(
                    FormKind::EditSource(s.id),
                    format!("Edit source '{}'", s.name),
                    vec![
                        Field::text("Name", &s.name, MAX_ENTITY_NAME),
                        Field::text("Description", &s.description, MAX_DESCRIPTION),
                        Field::choice(
                            "Strategy",
                            Strategy::ALL.iter().map(|s| s.to_string()).collect(),
                            index,
                        ),
                    ],
                )));
            }
            Command::CycleStrategy => {
                let Some(s) = selected else {
                    return self.nothing_selected("source");
                };
                self.write(format!("saving source '{}'", s.name), move |store| {
                    let result = store.update_source_seen(
                        &EntityRef::Id(s.id),
                        &SourcePatch {
                            strategy: Some(s.strategy.next()),
                            ..Default::default()
                        },
                        &SourcePatch {
                            strategy: Some(s.strategy),
                            ..Default::default()
                        },
                    );
                    then(move |app| {
                        let after = result?;
                        app.refresh()?;
                        app.info(format!(
                            "'{}' strategy {} -> {}",
                            after.name, s.strategy, after.strategy
                        ));
                        Ok(())
                    })
                })?;
            }
            Command::Delete => {
                let Some(s) = selected else {
                    return self.nothing_selected("source");
                };
                if s.total > 0 {
                    self.error(format!(
                        "source '{}' has {} contact(s) and cannot be deleted",
                        s.name, s.total
                    ));
                    return Ok(());
                }
                self.dialog = Some(Dialog::Confirm(Confirm {
                    title: "Delete source".into(),
                    lines: vec![
                        format!("Delete source '{}'?", s.name),
                        "It has no contacts; its weights are removed with it.".into(),
                    ],
                    yes: "delete".into(),
                    pending: Pending::DeleteSource {
                        id: s.id,
                        name: s.name.clone(),
                    },
                }));
            }
            _ => {}
        }
        Ok(())
    }

    // ----- Weights tab -----

    fn weights_command(&mut self, cmd: Command) -> Result<(), StoreError> {
        let page = self.table_page();
        let rows: Vec<i64> = self.weights.operators.iter().map(|o| o.id).collect();
        let cols: Vec<i64> = self.weights.sources.iter().map(|s| s.id).collect();
        if let Command::Left | Command::Right = cmd {
            let visible = layout::weight_columns(layout::weights_grid(
                self.area,
                self.weights.filter.is_shown(),
            ));
            self.weights.input.clear();
            self.weights
                .col
                .step(if cmd == Command::Left { -1 } else { 1 }, &cols);
            self.weights.col.scroll(visible);
            return Ok(());
        }
        if self.weights.row.navigate(cmd, page, &rows) {
            self.weights.input.clear();
            return Ok(());
        }
        let cell = match (self.weights.row.id, self.weights.col.id) {
            (Some(op), Some(src)) => Some((op, src)),
            _ => None,
        };
        match cmd {
            Command::Back => {
                if !self.weights.input.is_empty() {
                    self.weights.input.clear();
                } else if !self.weights.filter.text.is_empty() {
                    self.weights.filter = TextFilter::default();
                    self.load_weights()?;
                }
            }
            Command::Set | Command::Increase | Command::Decrease | Command::Clear => {
                let Some((op, src)) = cell else {
                    self.error("no cell selected: add operators and sources first");
                    return Ok(());
                };
                let current = self.weights.weight(op, src);
                let new = match cmd {
                    Command::Set => {
                        let typed = std::mem::take(&mut self.weights.input);
                        if typed.is_empty() {
                            self.error("type a weight (digits), then Enter");
                            return Ok(());
                        }
                        match typed.parse::<u32>() {
                            Ok(w) => w,
                            Err(_) => {
                                self.error(format!("'{typed}' is not a weight"));
                                return Ok(());
                            }
                        }
                    }
                    Command::Increase => current.saturating_add(1),
                    Command::Decrease => current.saturating_sub(1),
                    _ => 0,
                };
                self.weights.input.clear();
                if new == current {
                    self.info(format!("weight stays {current}"));
                    return Ok(());
                }
                self.write("saving a weight", move |store| {
                    let result = store.set_weight_seen(
                        &EntityRef::Id(op),
                        &EntityRef::Id(src),
                        new,
                        current,
                    );
                    then(move |app| {
                        let w = result?;
                        app.refresh()?;
                        app.info(format!(
                            "weight {} x {}: {current} -> {}",
                            w.operator, w.source, w.weight
                        ));
                        Ok(())
                    })
                })?;
            }
            _ => {}
        }
        Ok(())
    }

    // ----- Feed tab -----

    fn feed_command(&mut self, cmd: Command) -> Result<(), StoreError> {
        let page = self.feed_page();
        let store = &mut self.store;
        match cmd {
            Command::Up => return self.feed.up(store, page),
            Command::Down => return self.feed.down(store, page),
            Command::PageUp => return self.feed.page_up(store, page),
            Command::PageDown => return self.feed.page_down(store, page),
            Command::First => return self.feed.first(store, page),
            Command::Last => return self.feed.last(store, page),
            Command::Mark => return self.feed.toggle_mark(store, page),
            Command::MarkAll => {
                let added = self.feed.mark_all();
                self.info(format!("{added} marked; {} in all", self.feed.marks.len()));
                return Ok(());
            }
            Command::ClearMarks => {
                let n = self.feed.clear_marks();
                self.info(match n {
                    0 => "no marks to clear".to_string(),
                    n => format!("{n} mark(s) cleared"),
                });
                return Ok(());
            }
            Command::Back => {
                if self.feed.clear_filters() {
                    self.feed.reload(store, page)?;
                    self.info("filters and marks cleared");
                }
                return Ok(());
            }
            Command::WaitingOnly => {
                self.feed.toggle_waiting();
                return self.feed.reload(store, page);
            }
            _ => {}
        }
        match cmd {
            Command::PickFilter => self.open_filter_picker(),
            Command::Open => {
                let Some(c) = self.feed.selected().cloned() else {
                    return self.nothing_selected("contact");
                };
                let lead = self.store.lead(c.lead_id)?;
                let ids: Vec<i64> = lead.contacts.iter().map(|x| x.id).collect();
                let mut sel = Selection {
                    id: Some(c.id),
                    ..Selection::default()
                };
                sel.sync(&ids);
                self.dialog = Some(Dialog::Lead(LeadCard {
                    lead,
                    from_contact: c.id,
                    sel,
                }));
                Ok(())
            }
            Command::Assign => self.open_assign_picker(),
            Command::Close => self.close_or_reopen(true),
            Command::Reopen => self.close_or_reopen(false),
            Command::Drain => self.write("routing the backlog", |store| {
                let result = store.drain_all();
                then(move |app| {
                    let n = result?;
                    app.refresh()?;
                    let waiting = app.feed.waiting;
                    app.info(match (n, waiting) {
                        (0, 0) => "nothing to route: no contact is waiting".to_string(),
                        (0, w) => format!(
                            "none of the {w} waiting contact(s) could be routed: no operator with a weight in their sources is active with room"
                        ),
                        (n, _) => format!("backlog routed: {n} waiting contact(s) assigned"),
                    });
                    Ok(())
                })
            }),
            _ => Ok(()),
        }
    }

    /// What an action on contacts applies to: the marked contacts with the state each
    /// had when marked, else the selected one as it shows now. `None` (with the reason
    /// shown) when there is nothing the supervisor picked.
    fn targets(&mut self) -> Option<Vec<(i64, Seen)>> {
        if !self.feed.marks.is_empty() {
            return Some(self.feed.marks.iter().map(|(id, s)| (*id, *s)).collect());
        }
        if let Some(c) = self.feed.selected() {
            return Some(vec![(c.id, Seen::of(c))]);
        }
        match self.feed.selection_out_of_view() {
            Some(id) => self.error(format!(
                "contact #{id} is not in view any more; select a contact first (j/k)"
            )),
            None => self.error("no contact selected"),
        }
        None
    }

    fn close_or_reopen(&mut self, close: bool) -> Result<(), StoreError> {
        let Some(targets) = self.targets() else {
            return Ok(());
        };
        if close && targets.len() > 1 {
            // Several at once: said first, with what will change.
            let out_of_view = targets
                .iter()
                .filter(|(id, _)| !self.feed.rows.iter().any(|c| c.id == *id))
                .count();
            let mut lines = vec![format!("Close {} marked contacts?", targets.len())];
            if out_of_view > 0 {
                lines.push(format!("{out_of_view} of them are out of view."));
            }
            lines.push(
                "Their operators get the slots back; a contact someone changed since you marked it is skipped."
                    .into(),
            );
            self.dialog = Some(Dialog::Confirm(Confirm {
                title: "Close contacts".into(),
                lines,
                yes: "close".into(),
                pending: Pending::Close { contacts: targets },
            }));
            return Ok(());
        }
        self.close_or_reopen_now(close, targets)
    }

    fn close_or_reopen_now(
        &mut self,
        close: bool,
        targets: Vec<(i64, Seen)>,
    ) -> Result<(), StoreError> {
        let single = targets.len() == 1 && self.feed.marks.is_empty();
        let what = match targets.as_slice() {
            [(id, _)] => format!("contact #{id}"),
            many => format!("{} contacts", many.len()),
        };
        let verb = if close { "closing" } else { "reopening" };
        self.write(format!("{verb} {what}"), move |store| {
            let result = if close {
                store.close_contacts(&targets)
            } else {
                store.reopen_contacts(&targets)
            };
            then(move |app| app.closed_or_reopened(close, single, &targets, result?))
        })
    }

    fn closed_or_reopened(
        &mut self,
        close: bool,
        single: bool,
        targets: &[(i64, Seen)],
        outcomes: Vec<Outcome>,
    ) -> Result<(), StoreError> {
        // Marks made while the change waited stay.
        for (id, _) in targets {
            self.feed.marks.remove(id);
        }
        self.refresh()?;
        let verb = if close { "closed" } else { "reopened" };
        let (done, skipped) = split_outcomes(&outcomes);
        if single {
            match (done.first(), skipped.first()) {
                (Some(c), _) => {
                    // A reopened contact goes back to its operator only if there is room.
                    let outcome = match (close, c.status, &c.operator) {
                        (true, _, _) => String::new(),
                        (false, ContactStatus::Active, Some(op)) => format!(": active with {op}"),
                        (false, _, _) => ": waiting for an operator".to_string(),
                    };
                    self.info(format!("contact #{} {verb}{outcome}", c.id));
                }
                (None, Some(why)) => self.error(why.clone()),
                (None, None) => {}
            }
        } else if skipped.is_empty() {
            self.info(format!("{} contacts {verb}", done.len()));
        } else {
            self.error(format!(
                "{} of {} {verb}; {}",
                done.len(),
                outcomes.len(),
                summarize_skips(&skipped)
            ));
        }
        Ok(())
    }

    fn open_assign_picker(&mut self) -> Result<(), StoreError> {
        let Some(targets) = self.targets() else {
            return Ok(());
        };
        let contacts: Vec<(i64, Seen)> = targets
            .into_iter()
            .filter(|(_, seen)| seen.status.can_assign())
            .collect();
        if contacts.is_empty() {
            self.error(if self.feed.marks.is_empty() {
                "only a waiting or active contact can be assigned (reopen it first)"
            } else {
                "none of the marked contacts was waiting or active when marked"
            });
            return Ok(());
        }
        // Sources never change, and the contacts as they are now name who holds them.
        let mut sources = Vec::new();
        let mut held = Vec::new();
        let mut subject = String::new();
        let mut changed = 0;
        for (id, seen) in &contacts {
            let c = self.store.contact(*id)?;
            sources.push(c.source_id);
            if Seen::of(&c) != *seen {
                changed += 1;
            }
            if let (ContactStatus::Active, Some(op)) = (seen.status, &c.operator)
                && seen.operator_id == c.operator_id
            {
                held.push((*id, op.clone()));
            }
            if contacts.len() == 1 {
                subject = contact_subject(&c);
            }
        }
        sources.sort_unstable();
        sources.dedup();
        if contacts.len() > 1 {
            subject = format!("{} marked contacts", contacts.len());
        }
        match held.as_slice() {
            [] => {}
            [(_, op)] if contacts.len() == 1 => subject.push_str(&format!(", now with {op}")),
            many => subject.push_str(&format!(", {} of them held by an operator", many.len())),
        }
        if changed > 0 && contacts.len() > 1 {
            // Shown now; the store skips them and says why.
            subject.push_str(&format!(
                ", {changed} changed since marked (will be skipped)"
            ));
        }
        let rows = self.pick_rows(&sources, contacts.len())?;
        if rows.is_empty() {
            self.error("there are no operators: add one on the Operators tab");
            return Ok(());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.operator_id).collect();
        let mut sel = Selection::default();
        sel.set(0, &ids);
        self.dialog = Some(Dialog::Assign(AssignPicker {
            contacts,
            held,
            sources,
            subject,
            rows,
            sel,
        }));
        Ok(())
    }

    /// Every operator for contacts of `sources`: those routing could pick first (the
    /// heaviest weight first), then the rest with every reason they are not eligible.
    /// `n` contacts need `n` free slots.
    fn pick_rows(&mut self, sources: &[i64], n: usize) -> Result<Vec<PickRow>, StoreError> {
        let operators = self.store.operators()?;
        let weights = self.store.weights()?;
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        let mut rows: Vec<PickRow> = operators
            .iter()
            .map(|op| {
                let weight = sources
                    .iter()
                    .map(|sid| {
                        weights
                            .iter()
                            .find(|w| w.operator_id == op.id && w.source_id == *sid)
                            .map_or(0, |w| w.weight)
                    })
                    .min()
                    .unwrap_or(0);
                let why = Candidate {
                    operator_id: op.id,
                    active: op.active,
                    weight,
                    load: op.load,
                    max_load: op.max_load,
                }
                .why_not(n);
                PickRow {
                    operator_id: op.id,
                    name: op.name.clone(),
                    weight,
                    load: op.load,
                    max_load: op.max_load,
                    why,
                }
            })
            .collect();
        // Eligible first (heaviest weight first), then no weight (a hand assignment
        // without force), then those that need force, by name.
        rows.sort_by(|a, b| {
            let rank = |r: &PickRow| {
                (
                    r.why.has(|x| matches!(x, Ineligible::Inactive)),
                    r.why.has(|x| matches!(x, Ineligible::Full { .. })),
                    !r.why.is_empty(),
                )
            };
            rank(a)
                .cmp(&rank(b))
                .then(b.weight.cmp(&a.weight))
                .then(a.name.to_lowercase().cmp(&b.name.to_lowercase()))
        });
        Ok(rows)
    }

    /// Assigns the contacts the supervisor picked, in one transaction; those that
    /// changed since they were seen are skipped and reported with who holds them now.
    fn assign(
        &mut self,
        contacts: &[(i64, Seen)],
        operator_id: i64,
        operator: &str,
        force: bool,
    ) -> Result<(), StoreError> {
        let contacts = contacts.to_vec();
        let operator = operator.to_string();
        let what = match contacts.as_slice() {
            [(id, _)] => format!("assigning contact #{id} to {operator}"),
            many => format!("assigning {} contacts to {operator}", many.len()),
        };
        self.write(what, move |store| {
            let result = store.assign_contacts(&contacts, &EntityRef::Id(operator_id), force);
            then(move |app| app.assigned(&contacts, &operator, result))
        })
    }

    fn assigned(
        &mut self,
        contacts: &[(i64, Seen)],
        operator: &str,
        result: Result<Vec<Outcome>, StoreError>,
    ) -> Result<(), StoreError> {
        let outcomes = match result {
            Ok(o) => o,
            Err(e @ StoreError::NeedsForce { .. }) => {
                // The operator filled up or went inactive since the picker showed it.
                self.refresh()?;
                self.error(format!("{e}: nothing assigned; press a again to see why"));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        // Marks made while the change waited stay.
        for (id, _) in contacts {
            self.feed.marks.remove(id);
        }
        self.refresh()?;
        let (done, skipped) = split_outcomes(&outcomes);
        match (contacts, done.first(), skipped.is_empty()) {
            ([(id, _)], Some(_), _) => self.info(format!("contact #{id} assigned to {operator}")),
            (_, _, true) => self.info(format!("{} contacts assigned to {operator}", done.len())),
            ([_], None, false) => self.error(skipped[0].clone()),
            (_, _, false) => self.error(format!(
                "{} of {} assigned to {operator}; {}",
                done.len(),
                outcomes.len(),
                summarize_skips(&skipped)
            )),
        }
        Ok(())
    }

    fn open_filter_picker(&mut self) -> Result<(), StoreError> {
        let any = |label: &str| (None, label.to_string());
        let mut sources = vec![any("any source")];
        sources.extend(
            self.store
                .sources()?
                .into_iter()
                .map(|s| (Some(s.id), s.name)),
        );
        let mut operators = vec![any("any operator")];
        operators.extend(
            self.store
                .operators()?
                .into_iter()
                .map(|o| (Some(o.id), o.name)),
        );
        let mut statuses = vec![(None, "any status".to_string())];
        statuses.extend(ContactStatus::ALL.map(|s| (Some(s), s.to_string())));
        let f = &self.feed.filter;
        let chosen = [
            sources.iter().position(|x| x.0 == f.source_id).unwrap_or(0),
            operators
                .iter()
                .position(|x| x.0 == f.operator_id)
                .unwrap_or(0),
            statuses.iter().position(|x| x.0 == f.status).unwrap_or(0),
        ];
        self.dialog = Some(Dialog::FeedFilter(FilterPicker {
            sources,
            operators,
            statuses,
            chosen,
            focus: 0,
        }));
        Ok(())
    }

    // ----- simulator -----

    fn simulate_key(&mut self) -> Result<(), StoreError> {
        if let Some(sim) = &self.sim {
            if sim.demo {
                // The demo's contacts are what makes it move: asked first.
                self.dialog = Some(Dialog::Confirm(Confirm {
                    title: "Stop the demo's simulator".into(),
                    lines: vec![
                        "Stop the demo's simulator?".into(),
                        "No more contacts arrive; the demo's operators go on closing theirs."
                            .into(),
                    ],
                    yes: "stop".into(),
                    pending: Pending::StopSimulator,
                }));
                return Ok(());
            }
            sim.progress.cancel.store(true, Ordering::Relaxed);
            self.info("stopping the simulator…");
            return Ok(());
        }
        let sources = self.store.sources()?;
        if sources.is_empty() {
            self.error("there are no sources to simulate: add one on the Sources tab");
            return Ok(());
        }
        let mut options = vec!["all, by the configured mix".to_string()];
        options.extend(sources.iter().map(|s| s.name.clone()));
        self.dialog = Some(Dialog::Form(Form::new(
            FormKind::Simulate(sources.iter().map(|s| s.id).collect()),
            "Simulate contacts",
            vec![
                Field::choice("Source", options, 0),
                Field::number("Count", "100", false),
                Field::number("Rate per second", "5", true),
                Field::number("Repeat leads (0-1)", "0.2", true),
            ],
        )));
        Ok(())
    }

    fn spawn_simulator(&mut self, plan: Plan, demo: bool) -> Result<(), StoreError> {
        plan.validate()?;
        // Its own connection, so the UI never waits on the simulator's transactions.
        let mut store = self.store.session(None)?;
        if let Some(seed) = self.seed {
            store.reseed(seed);
        }
        let progress = Arc::new(Progress::default());
        let shared = Arc::clone(&progress);
        let count = plan.count;
        let handle = std::thread::Builder::new()
            .name("simulator".into())
            .spawn(move || sim::run(&mut store, &plan, &shared))
            .map_err(|e| StoreError::Io(format!("cannot start the simulator: {e}")))?;
        self.sim = Some(SimRun {
            progress,
            handle: Some(handle),
            count,
            demo,
            seen: 0,
        });
        self.dirty = true;
        Ok(())
    }

    /// Stops a running simulation and waits for its thread (at most one contact).
    pub fn stop_simulator(&mut self) {
        if let Some(mut work) = self.demo_work.take() {
            work.cancel.store(true, Ordering::Relaxed);
            if let Some(h) = work.handle.take() {
                let _ = h.join();
            }
        }
        if let Some(mut sim) = self.sim.take() {
            sim.progress.cancel.store(true, Ordering::Relaxed);
            if let Some(h) = sim.handle.take() {
                let _ = h.join();
            }
        }
    }

    // ----- audit -----

    fn open_audit(&mut self) -> Result<(), StoreError> {
        let mut view = AuditView {
            entries: Vec::new(),
            sel: Selection::default(),
            filter: TextFilter::default(),
            complete: false,
        };
        self.load_audit(&mut view, true)?;
        self.dialog = Some(Dialog::Audit(view));
        Ok(())
    }

    /// Reads the newest entries again (as many as are loaded, at least 200).
    fn load_audit(&mut self, view: &mut AuditView, reset: bool) -> Result<(), StoreError> {
        let limit = if reset {
            200
        } else {
            view.entries.len().max(200)
        };
        let filter = Some(view.filter.text.as_str()).filter(|t| !t.trim().is_empty());
        view.entries = self.store.audit_log(filter, None, limit)?;
        view.complete = view.entries.len() < limit;
        let ids: Vec<i64> = view.entries.iter().map(|e| e.id).collect();
        if reset {
            view.sel = Selection::default();
        }
        view.sel.sync(&ids);
        Ok(())
    }

    // ----- dialogs -----

    fn dialog_action(&mut self, dialog: Dialog, action: Action) -> Result<(), StoreError> {
        match dialog {
            Dialog::Form(form) => self.form_action(form, action),
            Dialog::Confirm(confirm) => self.confirm_action(confirm, action),
            Dialog::Assign(picker) => self.assign_action(picker, action),
            Dialog::FeedFilter(picker) => self.filter_picker_action(picker, action),
            Dialog::Lead(card) => {
                let mut card = card;
                let ids: Vec<i64> = card.lead.contacts.iter().map(|c| c.id).collect();
                match action {
                    Action::Command(Command::Back | Command::Confirm) => {}
                    Action::Command(cmd) => {
                        card.sel.navigate(cmd, 10, &ids);
                        self.dialog = Some(Dialog::Lead(card));
                    }
                    _ => self.dialog = Some(Dialog::Lead(card)),
                }
                Ok(())
            }
            Dialog::Audit(view) => self.audit_action(view, action),
        }
    }

    fn form_action(&mut self, mut form: Form, action: Action) -> Result<(), StoreError> {
        let n = form.fields.len();
        match action {
            Action::Input(c) => {
                if let Some(f) = form.fields.get_mut(form.focus) {
                    f.input(c);
                }
            }
            Action::Backspace => {
                if let Some(f) = form.fields.get_mut(form.focus) {
                    f.backspace();
                }
            }
            Action::Command(Command::Back) => return Ok(()),
            Action::Command(Command::NextField | Command::Down) => {
                form.focus = (form.focus + 1) % n.max(1)
            }
            Action::Command(Command::PrevField | Command::Up) => {
                form.focus = (form.focus + n.max(1) - 1) % n.max(1)
            }
            Action::Command(Command::Right) => {
                if let Some(f) = form.fields.get_mut(form.focus) {
                    f.cycle(1);
                }
            }
            Action::Command(Command::Left) => {
                if let Some(f) = form.fields.get_mut(form.focus) {
                    f.cycle(-1);
                }
            }
            Action::Command(Command::Confirm) => {
                // A confirm with a conflict in view saves over the other writer's
                // values: the form already expects them (see `form_saved`).
                form.conflict.clear();
                match self.submit_form(&form) {
                    Err(e) => {
                        form.error = Some(e.to_string());
                        self.error(e.to_string());
                    }
                    Ok(None) => return Ok(()),
                    Ok(Some((what, job))) => {
                        return self.write(what, move |store| {
                            let result = job(store);
                            then(move |app| app.form_saved(form, result))
                        });
                    }
                }
            }
            _ => {}
        }
        self.dialog = Some(Dialog::Form(form));
        Ok(())
    }

    /// What confirming `form` does: `None` when it is done at once (nothing changed,
    /// the simulator started), else the store write, described for the status bar.
    /// A value that does not parse is refused here, before anything is written.
    fn submit_form(&mut self, form: &Form) -> Result<Option<(String, FormJob)>, StoreError> {
        let whole = |label: &str, v: &str| -> Result<u32, StoreError> {
            v.trim().parse::<u32>().map_err(|_| {
                StoreError::Invalid(crate::domain::DomainError::new(format!(
                    "{label} must be a whole number"
                )))
            })
        };
        let decimal = |label: &str, v: &str| -> Result<f64, StoreError> {
            v.trim().parse::<f64>().map_err(|_| {
                StoreError::Invalid(crate::domain::DomainError::new(format!(
                    "{label} must be a number"
                )))
            })
        };
        let strategy = |form: &Form| {
            Strategy::ALL
                .get(form.fields.get(2).map_or(0, Field::choice_index))
                .copied()
                .unwrap_or_default()
        };
        match &form.kind {
            FormKind::AddOperator => {
                let max_load = whole("max load", form.value(1))?;
                let name = form.value(0).to_string();
                Ok(Some((
                    format!("adding operator '{name}'"),
                    Box::new(move |store: &mut Store| {
                        let op = store.add_operator(&name, max_load, true)?;
                        Ok(Saved {
                            message: format!(
                                "operator '{}' added (max load {})",
                                op.name, op.max_load
                            ),
                            select: Some((Tab::Operators, op.id)),
                        })
                    }),
                )))
            }
            FormKind::EditOperator(id) => {
                // Only the fields the supervisor changed are written, and only if the
                // file still holds what the form opened with.
                let (mut patch, mut seen) = (OperatorPatch::default(), OperatorPatch::default());
                if form.fields[0].edited() {
                    patch.name = Some(form.value(0).to_string());
                    seen.name = Some(form.fields[0].original.clone());
                }
                if form.fields[1].edited() {
                    patch.max_load = Some(whole("max load", form.value(1))?);
                    seen.max_load = Some(whole("max load", &form.fields[1].original)?);
                }
                if patch == OperatorPatch::default() {
                    self.info("nothing changed; nothing saved");
                    return Ok(None);
                }
                let id = *id;
                Ok(Some((
                    "saving an operator".to_string(),
                    Box::new(move |store: &mut Store| {
                        let op = store.update_operator_seen(&EntityRef::Id(id), &patch, &seen)?;
                        Ok(Saved {
                            message: format!("operator '{}' saved", op.name),
                            select: None,
                        })
                    }),
                )))
            }
            FormKind::AddSource => {
                let (name, description, strategy) = (
                    form.value(0).to_string(),
                    form.value(1).to_string(),
                    strategy(form),
                );
                Ok(Some((
                    format!("adding source '{name}'"),
                    Box::new(move |store: &mut Store| {
                        let s = store.add_source(&name, &description, strategy)?;
                        Ok(Saved {
                            message: format!("source '{}' added ({})", s.name, s.strategy),
                            select: Some((Tab::Sources, s.id)),
                        })
                    }),
                )))
            }
            FormKind::EditSource(id) => {
                let (mut patch, mut seen) = (SourcePatch::default(), SourcePatch::default());
                if form.fields[0].edited() {
                    patch.name = Some(form.value(0).to_string());
                    seen.name = Some(form.fields[0].original.clone());
                }
                if form.fields[1].edited() {
                    patch.description = Some(form.value(1).to_string());
                    seen.description = Some(form.fields[1].original.clone());
                }
                if form.fields[2].edited() {
                    patch.strategy = Some(strategy(form));
                    seen.strategy = form.fields[2]
                        .original
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| Strategy::ALL.get(i).copied());
                }
                if patch == SourcePatch::default() {
                    self.info("nothing changed; nothing saved");
                    return Ok(None);
                }
                let id = *id;
                Ok(Some((
                    "saving a source".to_string(),
                    Box::new(move |store: &mut Store| {
                        let s = store.update_source_seen(&EntityRef::Id(id), &patch, &seen)?;
                        Ok(Saved {
                            message: format!("source '{}' saved", s.name),
                            select: None,
                        })
                    }),
                )))
            }
            FormKind::Simulate(source_ids) => {
                let choice = form.fields.first().map_or(0, Field::choice_index);
                let mix = match choice {
                    0 => SourceMix::resolve(&mut self.store, &[])?,
                    i => SourceMix {
                        sources: source_ids.get(i - 1).copied().into_iter().collect(),
                        weights: vec![1],
                    },
                };
                let plan = Plan {
                    count: u64::from(whole("count", form.value(1))?),
                    rate: Some(decimal("rate", form.value(2))?),
                    mix,
                    repeat: decimal("repeat", form.value(3))?,
                    seed: None,
                };
                let (count, rate) = (plan.count, plan.rate.unwrap_or(0.0));
                self.spawn_simulator(plan, false)?;
                self.info(format!(
                    "simulator started: {count} contact(s) at {rate}/s; press s again to stop"
                ));
                Ok(None)
            }
        }
    }

    /// A form's write came back: done, or the form opens again with why not. If
    /// another writer changed a field the form edits, the form shows both values and
    /// the next confirm saves over them.
    fn form_saved(
        &mut self,
        mut form: Form,
        result: Result<Saved, StoreError>,
    ) -> Result<(), StoreError> {
        let changes = match result {
            Ok(saved) => {
                match saved.select {
                    Some((Tab::Operators, id)) => self.operators.sel.id = Some(id),
                    Some((Tab::Sources, id)) => self.sources.sel.id = Some(id),
                    _ => {}
                }
                self.refresh()?;
                self.info(saved.message);
                return Ok(());
            }
            Err(StoreError::Stale { entity, changes }) => {
                form.error = None;
                self.error(format!(
                    "{entity} changed meanwhile: Enter saves yours over it, Esc keeps theirs"
                ));
                changes
            }
            Err(e) => {
                form.error = Some(e.to_string());
                self.error(e.to_string());
                Vec::new()
            }
        };
        // The next save expects what the file holds now, so a third change in between
        // is caught again.
        for c in &changes {
            if let Some(f) = form
                .fields
                .iter_mut()
                .find(|f| f.label.eq_ignore_ascii_case(c.field))
            {
                f.original = match &f.kind {
                    FieldKind::Choice { options, .. } => options
                        .iter()
                        .position(|o| *o == c.now)
                        .unwrap_or(0)
                        .to_string(),
                    _ => c.now.clone(),
                };
            }
        }
        form.conflict = changes;
        // A dialog opened while the write waited keeps the screen; the message stays.
        if self.dialog.is_none() {
            self.dialog = Some(Dialog::Form(form));
        }
        self.refresh()
    }

    fn confirm_action(&mut self, confirm: Confirm, action: Action) -> Result<(), StoreError> {
        match action {
            Action::Command(Command::Yes | Command::Confirm) => {}
            Action::Command(Command::Back) => {
                self.info("cancelled; nothing changed");
                return Ok(());
            }
            _ => {
                self.dialog = Some(Dialog::Confirm(confirm));
                return Ok(());
            }
        }
        match confirm.pending {
            Pending::DeleteOperator { id, name } => {
                self.write(format!("deleting operator '{name}'"), move |store| {
                    let result = store.delete_operator(&EntityRef::Id(id));
                    then(move |app| {
                        result?;
                        app.refresh()?;
                        app.info(format!("operator '{name}' deleted"));
                        Ok(())
                    })
                })?;
            }
            Pending::DeleteSource { id, name } => {
                self.write(format!("deleting source '{name}'"), move |store| {
                    let result = store.delete_source(&EntityRef::Id(id));
                    then(move |app| {
                        result?;
                        app.refresh()?;
                        app.info(format!("source '{name}' deleted"));
                        Ok(())
                    })
                })?;
            }
            Pending::Assign {
                contacts,
                operator_id,
                operator,
                force,
            } => self.assign(&contacts, operator_id, &operator, force)?,
            Pending::Close { contacts } => self.close_or_reopen_now(true, contacts)?,
            Pending::Quit => self.quit(),
            Pending::StopSimulator => {
                if let Some(sim) = &self.sim {
                    sim.progress.cancel.store(true, Ordering::Relaxed);
                    self.info("stopping the simulator…");
                }
            }
        }
        Ok(())
    }

    fn assign_action(
        &mut self,
        mut picker: AssignPicker,
        action: Action,
    ) -> Result<(), StoreError> {
        let ids: Vec<i64> = picker.rows.iter().map(|r| r.operator_id).collect();
        match action {
            Action::Command(Command::Back) => return Ok(()),
            Action::Command(Command::Confirm) => {
                let Some(row) = picker.rows.get(picker.sel.cursor).cloned() else {
                    return Ok(());
                };
                let force = row.why.needs_force();
                // Contacts the chosen operator holds already are left alone.
                let moving: Vec<&(i64, String)> = picker
                    .held
                    .iter()
                    .filter(|(_, op)| *op != row.name)
                    .collect();
                if !force && moving.is_empty() {
                    return self.assign(&picker.contacts, row.operator_id, &row.name, false);
                }
                let what = match picker.contacts.len() {
                    1 => picker.subject.clone(),
                    n => format!("{n} marked contacts"),
                };
                let mut lines = vec![format!("Assign {what} to {}?", row.name)];
                match moving.as_slice() {
                    [] => {}
                    [(id, op)] => lines.push(format!(
                        "This is a reassignment: #{id} is with {op} now and moves to {}.",
                        row.name
                    )),
                    many => lines.push(format!(
                        "This reassigns {} contacts that other operators hold now.",
                        many.len()
                    )),
                }
                if force {
                    lines.push(format!(
                        "'{}' is {} (load {}/{}).",
                        row.name,
                        row.why.label(),
                        row.load,
                        row.max_load
                    ));
                    lines.push("Routing would not pick it; this uses force.".into());
                }
                self.dialog = Some(Dialog::Confirm(Confirm {
                    title: if moving.is_empty() {
                        "Assign anyway?".into()
                    } else {
                        "Reassign?".into()
                    },
                    lines,
                    yes: if moving.is_empty() {
                        "assign"
                    } else {
                        "reassign"
                    }
                    .into(),
                    pending: Pending::Assign {
                        contacts: picker.contacts,
                        operator_id: row.operator_id,
                        operator: row.name,
                        force,
                    },
                }));
                return Ok(());
            }
            Action::Command(cmd) => {
                picker.sel.navigate(cmd, 10, &ids);
            }
            _ => {}
        }
        self.dialog = Some(Dialog::Assign(picker));
        Ok(())
    }

    fn filter_picker_action(
        &mut self,
        mut picker: FilterPicker,
        action: Action,
    ) -> Result<(), StoreError> {
        let lens = [
            picker.sources.len(),
            picker.operators.len(),
            picker.statuses.len(),
        ];
        match action {
            Action::Command(Command::Back) => return Ok(()),
            Action::Command(Command::Down | Command::NextField) => {
                picker.focus = (picker.focus + 1) % 3
            }
            Action::Command(Command::Up | Command::PrevField) => {
                picker.focus = (picker.focus + 2) % 3
            }
            Action::Command(c @ (Command::Left | Command::Right)) => {
                let n = lens[picker.focus].max(1);
                let i = &mut picker.chosen[picker.focus];
                *i = if c == Command::Right {
                    (*i + 1) % n
                } else {
                    (*i + n - 1) % n
                };
            }
            Action::Command(Command::Confirm) => {
                let source = picker.sources.get(picker.chosen[0]).cloned();
                let operator = picker.operators.get(picker.chosen[1]).cloned();
                let status = picker.statuses.get(picker.chosen[2]).and_then(|x| x.0);
                self.feed.filter.source_id = source.as_ref().and_then(|x| x.0);
                self.feed.source_name = source.filter(|x| x.0.is_some()).map(|x| x.1);
                self.feed.filter.operator_id = operator.as_ref().and_then(|x| x.0);
                self.feed.operator_name = operator.filter(|x| x.0.is_some()).map(|x| x.1);
                self.feed.filter.status = status;
                self.feed.reset_position();
                let page = self.feed_page();
                return self.feed.reload(&mut self.store, page);
            }
            _ => {}
        }
        self.dialog = Some(Dialog::FeedFilter(picker));
        Ok(())
    }

    fn audit_action(&mut self, mut view: AuditView, action: Action) -> Result<(), StoreError> {
        let ids: Vec<i64> = view.entries.iter().map(|e| e.id).collect();
        let page = layout::dialog_page(self.area);
        if view.filter.editing {
            match action {
                Action::Input(c) => view.filter.text.push(c),
                Action::Backspace => {
                    view.filter.text.pop();
                }
                Action::Command(Command::Confirm) => view.filter.editing = false,
                Action::Command(Command::Back) => view.filter = TextFilter::default(),
                _ => {}
            }
            let result = self.load_audit(&mut view, true);
            self.dialog = Some(Dialog::Audit(view));
            return result;
        }
        match action {
            Action::Command(Command::Back) => {
                if view.filter.text.is_empty() {
                    return Ok(());
                }
                view.filter = TextFilter::default();
                let result = self.load_audit(&mut view, true);
                self.dialog = Some(Dialog::Audit(view));
                return result;
            }
            Action::Command(Command::Confirm) => return Ok(()),
            Action::Command(Command::Filter) => view.filter.editing = true,
            Action::Command(cmd) => {
                view.sel.navigate(cmd, page, &ids);
                // Near the end: read older entries.
                if !view.complete && view.sel.cursor + page >= view.entries.len() {
                    let filter = Some(view.filter.text.clone()).filter(|t| !t.trim().is_empty());
                    let before = view.entries.last().map(|e| e.id);
                    let more = self.store.audit_log(filter.as_deref(), before, 200)?;
                    view.complete = more.len() < 200;
                    view.entries.extend(more);
                }
            }
            _ => {}
        }
        self.dialog = Some(Dialog::Audit(view));
        Ok(())
    }
}

/// What a form's write reports when it worked.
struct Saved {
    message: String,
    /// The row to select afterwards (a new operator or source).
    select: Option<(Tab, i64)>,
}

/// A form's store write, run by [`App::write`].
type FormJob = Box<dyn FnOnce(&mut Store) -> Result<Saved, StoreError> + Send>;

/// Boxes what to do with the App once a write is done.
/// "; 5 waiting contacts routed" after a change that drained the backlog.
fn routed_note(routed: usize) -> String {
    match routed {
        0 => String::new(),
        1 => "; 1 waiting contact routed".to_string(),
        n => format!("; {n} waiting contacts routed"),
    }
}

fn then(f: impl FnOnce(&mut App) -> Result<(), StoreError> + Send + 'static) -> Done {
    Box::new(f)
}

/// The contacts an action applied to, and a line for each it skipped.
fn split_outcomes(outcomes: &[Outcome]) -> (Vec<&crate::store::Contact>, Vec<String>) {
    let mut done = Vec::new();
    let mut skipped = Vec::new();
    for o in outcomes {
        match o {
            Outcome::Done(c) => done.push(c),
            Outcome::Skipped { id, why } => skipped.push(why.describe(*id)),
        }
    }
    (done, skipped)
}

/// The first two skips in full, then how many more (the audit log has them all).
fn summarize_skips(skipped: &[String]) -> String {
    let mut text = skipped
        .iter()
        .take(2)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if skipped.len() > 2 {
        text.push_str(&format!("; {} more skipped", skipped.len() - 2));
    }
    text
}

impl Drop for App {
    fn drop(&mut self) {
        self.stop_simulator();
    }
}
